//! Who may use the workspace: named accounts (argon2 hashes in `{store}/users.json`, managed
//! with `fivestar user add|remove|list`, read afresh at each sign-in so that a change needs no
//! restart), or the admin token. A sign-in makes a session: a random id in a cookie that is
//! HttpOnly and SameSite=Strict (and Secure when the site is served over https), with its own
//! CSRF token that every form carries. Failed sign-ins are limited per client address and per
//! account name.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "fivestar_session";
/// A session ends this long after its last use.
pub const IDLE: Duration = Duration::from_secs(8 * 3600);
/// Failed sign-ins allowed per client address, and per account name, in [`WINDOW`].
pub const MAX_FAILURES: u32 = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Passwords shorter than this are refused by `fivestar user add`.
pub const MIN_PASSWORD: usize = 12;

/// One account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub name: String,
    /// PHC string: `$argon2id$v=19$…`.
    pub hash: String,
    pub added: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct UsersFile {
    users: Vec<Account>,
}

/// Whether `name` is acceptable as an account name: 1–64 letters, digits, `.`, `_`, `-`, `@`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

fn read_users(path: &Path) -> Result<UsersFile, String> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(UsersFile::default()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn write_users(path: &Path, users: &UsersFile) -> Result<(), String> {
    let text = serde_json::to_vec_pretty(users).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("json.new");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600));
    }
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Adds account `name` (or sets its password when it exists). Returns whether it was new.
pub fn add_user(path: &Path, name: &str, password: &str) -> Result<bool, String> {
    if !valid_name(name) {
        return Err(format!(
            "{name:?} is not an account name: use 1 to 64 letters, digits, '.', '_', '-' or '@'"
        ));
    }
    if password.chars().count() < MIN_PASSWORD {
        return Err(format!(
            "the password is shorter than {MIN_PASSWORD} characters"
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| e.to_string())?
        .to_string();
    let mut users = read_users(path)?;
    let added = fivestar_store::now_utc().1;
    let new = match users.users.iter_mut().find(|u| u.name == name) {
        Some(u) => {
            u.hash = hash;
            false
        }
        None => {
            users.users.push(Account {
                name: name.to_string(),
                hash,
                added,
            });
            true
        }
    };
    write_users(path, &users)?;
    Ok(new)
}

/// Removes account `name`; false when there was none.
pub fn remove_user(path: &Path, name: &str) -> Result<bool, String> {
    let mut users = read_users(path)?;
    let before = users.users.len();
    users.users.retain(|u| u.name != name);
    if users.users.len() == before {
        return Ok(false);
    }
    write_users(path, &users)?;
    Ok(true)
}

/// The accounts: (name, added).
pub fn list_users(path: &Path) -> Result<Vec<(String, String)>, String> {
    Ok(read_users(path)?
        .users
        .into_iter()
        .map(|u| (u.name, u.added))
        .collect())
}

/// Whether `password` is account `name`'s. An unknown name costs the same hashing as a known
/// one, so the answer's time does not say which names exist.
pub fn verify(path: &Path, name: &str, password: &str) -> bool {
    let users = read_users(path).unwrap_or_default();
    let account = users.users.iter().find(|u| u.name == name);
    // For unknown names: the hash of a random password nobody knows.
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let decoy = DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(random_hex(16).as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    });
    let hash = account.map(|a| a.hash.as_str()).unwrap_or(decoy);
    let ok = PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false);
    ok && account.is_some()
}

/// `n` random bytes as hex.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Compares in time that does not depend on where `a` and `b` differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session's id (the cookie's value).
    pub id: String,
    pub who: String,
    pub csrf: String,
    last: Instant,
}

/// Sessions in memory (a restart signs everyone out) and the failed sign-ins.
#[derive(Default)]
pub struct Sessions {
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Sessions {
    /// Starts a session for `who`; returns its id (the cookie's value).
    pub fn start(&self, who: &str) -> String {
        let id = random_hex(32);
        let session = Session {
            id: id.clone(),
            who: who.to_string(),
            csrf: random_hex(32),
            last: Instant::now(),
        };
        if let Ok(mut s) = self.sessions.lock() {
            let now = Instant::now();
            s.retain(|_, v| now.duration_since(v.last) < IDLE);
            s.insert(id.clone(), session);
        }
        id
    }

    /// The live session with id `id` (its idle time restarts).
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut s = self.sessions.lock().ok()?;
        let now = Instant::now();
        let live = s.get(id).is_some_and(|v| now.duration_since(v.last) < IDLE);
        if !live {
            s.remove(id);
            return None;
        }
        let v = s.get_mut(id)?;
        v.last = now;
        Some(v.clone())
    }

    pub fn end(&self, id: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            s.remove(id);
        }
    }

    fn keys(ip: Option<IpAddr>, name: &str) -> Vec<String> {
        let mut k = vec![format!("name:{}", name.to_lowercase())];
        if let Some(ip) = ip {
            k.push(format!("ip:{ip}"));
        }
        k
    }

    /// How long until sign-in may be tried again from `ip` for `name` (None: now).
    pub fn locked(&self, ip: Option<IpAddr>, name: &str) -> Option<Duration> {
        let f = self.failures.lock().ok()?;
        let now = Instant::now();
        Self::keys(ip, name)
            .iter()
            .filter_map(|k| f.get(k))
            .filter(|(n, at)| *n >= MAX_FAILURES && now.duration_since(*at) < WINDOW)
            .map(|(_, at)| WINDOW.saturating_sub(now.duration_since(*at)))
            .max()
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, ip: Option<IpAddr>, name: &str) {
        let Ok(mut f) = self.failures.lock() else {
            return;
        };
        let now = Instant::now();
        if f.len() > 100_000 {
            f.retain(|_, (_, at)| now.duration_since(*at) < WINDOW);
        }
        for k in Self::keys(ip, name) {
            let e = f.entry(k).or_insert((0, now));
            if now.duration_since(e.1) >= WINDOW {
                *e = (0, now);
            }
            e.0 += 1;
        }
    }

    /// A successful sign-in clears the account's count (not the address's).
    pub fn succeeded(&self, name: &str) {
        if let Ok(mut f) = self.failures.lock() {
            f.remove(&format!("name:{}", name.to_lowercase()));
        }
    }
}

/// The value of cookie `name` in a request's headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The cookie that carries the sign-in form's CSRF token (double submit: the form's hidden
/// field must equal it), so that another site cannot sign a browser in to an account of its
/// choosing.
pub const LOGIN_COOKIE: &str = "fivestar_login";

/// The `Set-Cookie` value for the sign-in form's token.
pub fn set_login_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{LOGIN_COOKIE}={token}; Path=/admin/login; HttpOnly; SameSite=Strict; Max-Age=3600{secure}")
}

/// The `Set-Cookie` value for a session id (`None`: clears the cookie).
pub fn set_cookie(id: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match id {
        Some(id) => format!(
            "{COOKIE}={id}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            IDLE.as_secs()
        ),
        None => format!("{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_hashed_and_verified() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        assert!(add_user(&path, "jo", "short").is_err());
        assert!(add_user(&path, "no spaces", "long enough password").is_err());
        assert!(add_user(&path, "jo", "correct horse battery").unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("$argon2id$") && !text.contains("correct horse"),
            "{text}"
        );
        assert!(verify(&path, "jo", "correct horse battery"));
        assert!(!verify(&path, "jo", "correct horse battery!"));
        assert!(!verify(&path, "nobody", "correct horse battery"));
        assert!(
            !add_user(&path, "jo", "another good password").unwrap(),
            "a new password"
        );
        assert!(verify(&path, "jo", "another good password"));
        assert_eq!(list_users(&path).unwrap().len(), 1);
        assert!(remove_user(&path, "jo").unwrap());
        assert!(!verify(&path, "jo", "another good password"));
        assert!(!remove_user(&path, "jo").unwrap());
    }

    #[test]
    fn failures_lock_out_an_address_and_a_name() {
        let s = Sessions::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(s.locked(Some(ip), "jo").is_none());
            s.failed(Some(ip), "jo");
        }
        assert!(s.locked(Some(ip), "jo").is_some());
        assert!(s.locked(Some(ip), "someone-else").is_some(), "the address");
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(s.locked(Some(other), "jo").is_some(), "the name");
        assert!(s.locked(Some(other), "ann").is_none());
    }

    #[test]
    fn sessions_carry_a_csrf_token_and_end() {
        let s = Sessions::default();
        let id = s.start("jo");
        let got = s.get(&id).unwrap();
        assert_eq!(got.who, "jo");
        assert_eq!(got.csrf.len(), 64);
        assert!(s.get("nope").is_none());
        s.end(&id);
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn cookies_are_read_and_set_strictly() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "a=1; fivestar_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        let c = set_cookie(Some("abc"), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(!set_cookie(Some("abc"), false).contains("Secure"));
    }
}
