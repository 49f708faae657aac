//! Credentials on each request to another store: a bearer token, or a user name and password.
//! A user name and password go the way the server asks, as curl's `--anyauth` does: the first
//! request to a protection space goes without them, and its 401 says which scheme it wants,
//! HTTP Basic or Digest (RFC 7616). Virtuoso's authenticated endpoints (`/sparql-auth`,
//! `/sparql-graph-crud-auth`) want Digest, and answer Basic credentials with a bare 401. The
//! scheme of each space, and its Digest challenge, is kept, so later requests answer at once
//! (the challenge's `nc` counting up). One request per space is sent twice.
//!
//! The secrets come from environment variables named in fivestar.toml, read when a request is
//! made, never from the file.

use digest_auth::{AuthContext, HttpMethod, WwwAuthenticateHeader};
use reqwest::blocking::{Client, Request, Response};
use reqwest::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use std::collections::HashMap;
use std::sync::Mutex;

/// The environment variables a target's credentials are read from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    pub token: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

enum Secret {
    None,
    Bearer(String),
    User { name: String, password: String },
}

/// How a protection space wants a user name and password.
enum Scheme {
    Basic,
    /// Its last challenge.
    Digest(WwwAuthenticateHeader),
}

/// Authorises requests for one target or backend.
pub(crate) struct Auth {
    names: Names,
    /// The scheme of each protection space asked so far, keyed by the URL's origin and path.
    schemes: Mutex<HashMap<String, Scheme>>,
}

fn space(url: &reqwest::Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

impl Auth {
    pub(crate) fn new(names: Names) -> Auth {
        Auth {
            names,
            schemes: Mutex::new(HashMap::new()),
        }
    }

    fn secret(&self) -> Result<Secret, String> {
        let env = |name: &str| {
            std::env::var(name).map_err(|_| format!("the environment variable {name} is not set"))
        };
        Ok(match &self.names {
            Names {
                token: Some(token), ..
            } => Secret::Bearer(env(token)?),
            Names {
                username: Some(user),
                password: Some(password),
                ..
            } => Secret::User {
                name: env(user)?,
                password: env(password)?,
            },
            _ => Secret::None,
        })
    }

    /// Sets the `Authorization` header of `request` as its space asked (none for a user name
    /// and password before it has).
    fn authorise(&self, request: &mut Request, secret: &Secret) -> Result<(), String> {
        let value = match secret {
            Secret::None => return Ok(()),
            Secret::Bearer(token) => format!("Bearer {token}"),
            Secret::User { name, password } => {
                let mut schemes = self.schemes.lock().unwrap_or_else(|e| e.into_inner());
                match schemes.get_mut(&space(request.url())) {
                    None => return Ok(()),
                    Some(Scheme::Digest(challenge)) => {
                        let url = request.url();
                        let uri = match url.query() {
                            Some(q) => format!("{}?{q}", url.path()),
                            None => url.path().to_string(),
                        };
                        let context = AuthContext::new_with_method(
                            name.as_str(),
                            password.as_str(),
                            uri,
                            Option::<&[u8]>::None,
                            HttpMethod::from(request.method().as_str().to_string()),
                        );
                        challenge
                            .respond(&context)
                            .map_err(|e| format!("answering the server's Digest challenge: {e}"))?
                            .to_header_string()
                    }
                    Some(Scheme::Basic) => {
                        use base64::Engine;
                        let pair = format!("{name}:{password}");
                        format!(
                            "Basic {}",
                            base64::engine::general_purpose::STANDARD.encode(pair)
                        )
                    }
                }
            }
        };
        let mut value =
            HeaderValue::from_str(&value).map_err(|_| "the credentials are not a valid header")?;
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
        Ok(())
    }

    /// Keeps the scheme a 401 answer asks for (Digest with its challenge; Basic for anything
    /// else, and for a 403 to a request sent without credentials, which some servers answer
    /// instead of a 401); whether the request is worth sending again with it: not when it was
    /// sent as asked already and refused (wrong credentials), unless a Digest nonce went stale.
    fn challenged(&self, request: &Request, response: &Response, sent: bool) -> bool {
        let status = response.status();
        if status == reqwest::StatusCode::FORBIDDEN && !sent {
            self.schemes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(space(request.url()), Scheme::Basic);
            return true;
        }
        if status != reqwest::StatusCode::UNAUTHORIZED {
            return false;
        }
        let challenge = response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.trim_start().to_ascii_lowercase().starts_with("digest "))
            .and_then(|v| WwwAuthenticateHeader::parse(v).ok());
        let again = !sent || challenge.as_ref().is_some_and(|c| c.stale);
        let scheme = match challenge {
            Some(c) => Scheme::Digest(c),
            None => Scheme::Basic,
        };
        self.schemes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(space(request.url()), scheme);
        again
    }

    /// Sends `request` with the credentials. A 401 to a request sent without them (the first
    /// to its space) or with a stale Digest nonce is answered once more as the server asked;
    /// the request must then be one whose body can be sent again (not a stream).
    pub(crate) fn execute(&self, client: &Client, request: Request) -> Result<Response, String> {
        let secret = self.secret()?;
        let again = match secret {
            Secret::User { .. } => request.try_clone(),
            _ => None,
        };
        let mut request = request;
        self.authorise(&mut request, &secret)?;
        let sent = request.headers().contains_key(AUTHORIZATION);
        let first = client.execute(request).map_err(|e| e.to_string())?;
        let Some(mut again) = again else {
            return Ok(first);
        };
        if !self.challenged(&again, &first, sent) {
            return Ok(first);
        }
        drop(first);
        self.authorise(&mut again, &secret)?;
        client.execute(again).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// What the test server wants.
    #[derive(Clone, Copy, PartialEq)]
    enum Wants {
        /// Digest (realm "SPARQL", qop auth, as Virtuoso asks).
        Digest,
        /// HTTP Basic for `dba:secret`, asked for by a 401.
        Basic,
        /// HTTP Basic for `dba:secret`, anything else answered 403.
        Forbidden,
    }

    /// A server on loopback that wants `wants` and reports each request's method, URL and
    /// Authorization header.
    fn server(requests: usize, wants: Wants) -> (String, mpsc::Receiver<(String, String, String)>) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for _ in 0..requests {
                let Ok(req) = server.recv() else { return };
                let auth = req
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Authorization"))
                    .map(|h| h.value.to_string())
                    .unwrap_or_default();
                let _ = tx.send((
                    req.method().to_string(),
                    req.url().to_string(),
                    auth.clone(),
                ));
                let ok = match wants {
                    Wants::Digest => auth.starts_with("Digest "),
                    _ => auth == "Basic ZGJhOnNlY3JldA==",
                };
                let challenge = match wants {
                    Wants::Digest => Some("Digest realm=\"SPARQL\", domain=\"/crud\", nonce=\"abc123\", opaque=\"5ebe\", stale=\"false\", qop=\"auth\", algorithm=\"MD5\""),
                    Wants::Basic => Some("Basic realm=\"x\""),
                    Wants::Forbidden => None,
                };
                let response = match (ok, challenge) {
                    (true, _) => tiny_http::Response::from_string("ok").with_status_code(200),
                    (false, None) => tiny_http::Response::from_string("no").with_status_code(403),
                    (false, Some(c)) => tiny_http::Response::from_string("who?")
                        .with_status_code(401)
                        .with_header(tiny_http::Header::from_bytes("WWW-Authenticate", c).unwrap()),
                };
                let _ = req.respond(response);
            }
        });
        (url, rx)
    }

    #[test]
    fn a_digest_challenge_is_answered_and_kept_for_the_next_request() {
        let (url, seen) = server(3, Wants::Digest);
        let auth = user("FIVESTAR_AUTH_TEST_PASSWORD");
        let client = Client::new();
        let put = |body: &'static str| {
            client
                .put(format!("{url}/crud?graph=http%3A%2F%2Fx%2Fg"))
                .body(body)
                .build()
                .unwrap()
        };
        let a = auth.execute(&client, put("<a> <b> <c> .")).unwrap();
        assert_eq!(a.status(), 200);
        let b = auth.execute(&client, put("<d> <e> <f> .")).unwrap();
        assert_eq!(b.status(), 200);
        let got: Vec<_> = seen.try_iter().collect();
        // Nothing first, then Digest for the same request; the next request Digest at once.
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].2.is_empty(), "{got:?}");
        for (method, _, header) in &got[1..] {
            assert_eq!(method, "PUT");
            assert!(header.contains("username=\"dba\""), "{header}");
            assert!(header.contains("realm=\"SPARQL\""), "{header}");
            assert!(header.contains("nonce=\"abc123\""), "{header}");
            assert!(
                header.contains("uri=\"/crud?graph=http%3A%2F%2Fx%2Fg\""),
                "{header}"
            );
            assert!(!header.contains("secret"), "{header}");
        }
        assert!(got[1].2.contains("nc=00000001"), "{}", got[1].2);
        assert!(got[2].2.contains("nc=00000002"), "{}", got[2].2);
    }

    /// A user `dba` whose password is in the variable `password`.
    fn user(password: &str) -> Auth {
        std::env::set_var("FIVESTAR_AUTH_TEST_USER", "dba");
        std::env::set_var("FIVESTAR_AUTH_TEST_PASSWORD", "secret");
        std::env::set_var("FIVESTAR_AUTH_TEST_WRONG", "guess");
        Auth::new(Names {
            token: None,
            username: Some("FIVESTAR_AUTH_TEST_USER".into()),
            password: Some(password.into()),
        })
    }

    /// Nothing first, then Basic as asked, at once the next time; wrong credentials refused
    /// with `refusal` are not sent twice.
    fn basic_as_asked(wants: Wants, refusal: u16) {
        let (url, seen) = server(4, wants);
        let auth = user("FIVESTAR_AUTH_TEST_PASSWORD");
        let client = Client::new();
        let get = || client.get(format!("{url}/q")).build().unwrap();
        assert_eq!(auth.execute(&client, get()).unwrap().status(), 200);
        assert_eq!(auth.execute(&client, get()).unwrap().status(), 200);
        let got: Vec<_> = seen.try_iter().map(|(_, _, a)| a).collect();
        assert_eq!(
            got,
            ["", "Basic ZGJhOnNlY3JldA==", "Basic ZGJhOnNlY3JldA=="]
        );
        let wrong = user("FIVESTAR_AUTH_TEST_WRONG");
        wrong
            .schemes
            .lock()
            .unwrap()
            .insert(space(get().url()), Scheme::Basic);
        assert_eq!(wrong.execute(&client, get()).unwrap().status(), refusal);
        assert_eq!(seen.recv().unwrap().2, "Basic ZGJhOmd1ZXNz");
    }

    #[test]
    fn a_basic_challenge_is_answered_and_wrong_credentials_are_not_sent_twice() {
        basic_as_asked(Wants::Basic, 401);
    }

    #[test]
    fn a_403_to_a_request_without_credentials_is_asked_again_with_basic() {
        basic_as_asked(Wants::Forbidden, 403);
    }

    #[test]
    fn a_missing_secret_is_named_and_nothing_is_sent() {
        let auth = Auth::new(Names {
            token: Some("FIVESTAR_AUTH_TEST_NO_SUCH_TOKEN".into()),
            ..Names::default()
        });
        let client = Client::new();
        let request = client.get("http://127.0.0.1:9/").build().unwrap();
        let e = auth.execute(&client, request).unwrap_err();
        assert!(e.contains("FIVESTAR_AUTH_TEST_NO_SUCH_TOKEN"), "{e}");
    }
}
