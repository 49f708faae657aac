//! RFC 6570 URI templates, level 4 (all operators, prefix and explode modifiers).

use std::borrow::Cow;
use std::fmt::Write;

/// The value of a template variable.
#[derive(Debug, Clone, PartialEq)]
pub enum Var<'a> {
    Undefined,
    Str(Cow<'a, str>),
    List(Vec<Cow<'a, str>>),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Expr(Op, Vec<VarSpec>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct VarSpec {
    name: String,
    prefix: Option<usize>,
    explode: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Op {
    first: &'static str,
    sep: &'static str,
    named: bool,
    ifemp: &'static str,
    reserved: bool,
}

fn op_for(c: Option<char>) -> Option<Op> {
    let op = |first, sep, named, ifemp, reserved| Op {
        first,
        sep,
        named,
        ifemp,
        reserved,
    };
    Some(match c {
        None => op("", ",", false, "", false),
        Some('+') => op("", ",", false, "", true),
        Some('.') => op(".", ".", false, "", false),
        Some('/') => op("/", "/", false, "", false),
        Some(';') => op(";", ";", true, "", false),
        Some('?') => op("?", "&", true, "=", false),
        Some('&') => op("&", "&", true, "=", false),
        Some('#') => op("#", ",", false, "", true),
        _ => return None,
    })
}

impl UriTemplate {
    /// Parses a template; the error says what is wrong with it.
    pub fn parse(template: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            if start > 0 {
                parts.push(Part::Literal(encoded_literal(&rest[..start])));
            }
            let after = &rest[start + 1..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed expression in URI template {template:?}"))?;
            let expr = &after[..end];
            let mut chars = expr.chars();
            let first = chars.next();
            let (op, vars) = match first.and_then(|c| op_for(Some(c))) {
                Some(op) if matches!(first, Some('+' | '.' | '/' | ';' | '?' | '&' | '#')) => {
                    (op, chars.as_str())
                }
                _ => {
                    if matches!(first, Some('=' | ',' | '!' | '@' | '|')) {
                        return Err(format!(
                            "reserved operator {:?} in URI template {template:?}",
                            first.unwrap_or(' ')
                        ));
                    }
                    (op_for(None).expect("simple operator"), expr)
                }
            };
            let mut specs = Vec::new();
            for v in vars.split(',') {
                let (name, prefix, explode) = if let Some(n) = v.strip_suffix('*') {
                    (n, None, true)
                } else if let Some((n, len)) = v.split_once(':') {
                    let len: usize = len
                        .parse()
                        .ok()
                        .filter(|l| *l > 0 && *l < 10000)
                        .ok_or_else(|| {
                            format!("invalid prefix length in URI template {template:?}")
                        })?;
                    (n, Some(len), false)
                } else {
                    (v, None, false)
                };
                if name.is_empty() || !valid_varname(name) {
                    return Err(format!(
                        "invalid variable name {name:?} in URI template {template:?}"
                    ));
                }
                specs.push(VarSpec {
                    name: name.to_string(),
                    prefix,
                    explode,
                });
            }
            parts.push(Part::Expr(op, specs));
            rest = &after[end + 1..];
        }
        if rest.contains('}') {
            return Err(format!("unmatched '}}' in URI template {template:?}"));
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(encoded_literal(rest)));
        }
        Ok(UriTemplate { parts })
    }

    /// Whether the expansion can differ between the columns of one row (it uses `_column`,
    /// `_sourceColumn` or `_name`).
    pub fn uses_column_variables(&self) -> bool {
        self.variables()
            .any(|v| matches!(v, "_column" | "_sourceColumn" | "_name"))
    }

    /// The names of the variables the template uses.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().flat_map(|p| match p {
            Part::Expr(_, vs) => vs.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
            Part::Literal(_) => Vec::new(),
        })
    }

    /// The template as `prefix{var}suffix` or `prefix{+var}suffix` (the `bool`: reserved),
    /// when that is all it is: one string expansion (no other operator, prefix or explode
    /// modifier) between literal text. Such a template expands to the prefix,
    /// [`encode_unreserved`] of the value and the suffix (for `{+var}`, when the value is of
    /// unreserved characters only), or to the prefix and suffix alone when the variable is
    /// undefined.
    pub fn single_simple(&self) -> Option<(&str, &str, &str, bool)> {
        fn literal(p: Option<&Part>) -> Option<&str> {
            match p {
                None => Some(""),
                Some(Part::Literal(l)) => Some(l.as_str()),
                Some(Part::Expr(..)) => None,
            }
        }
        let at = self
            .parts
            .iter()
            .position(|p| matches!(p, Part::Expr(..)))?;
        if at > 1 || self.parts.len() > at + 2 {
            return None;
        }
        let Part::Expr(op, specs) = &self.parts[at] else {
            return None;
        };
        let [spec] = specs.as_slice() else {
            return None;
        };
        // `{+var}` too: for a value of unreserved characters only it expands as `{var}` does.
        let simple = op.first.is_empty() && !op.named;
        if !simple || spec.prefix.is_some() || spec.explode {
            return None;
        }
        let prefix = if at == 1 {
            literal(self.parts.first())?
        } else {
            ""
        };
        let suffix = literal(self.parts.get(at + 1))?;
        Some((prefix, spec.name.as_str(), suffix, op.reserved))
    }

    /// Whether `c` is an unreserved character (RFC 6570 §1.5), which every expansion keeps.
    pub fn is_unreserved_byte(c: u8) -> bool {
        is_unreserved(c)
    }

    /// Expands the template with variables looked up by `lookup`.
    pub fn expand<'a>(&self, lookup: impl Fn(&str) -> Var<'a>) -> String {
        let mut out = String::new();
        self.expand_into(lookup, &mut out);
        out
    }

    /// [`UriTemplate::expand`], appending to `out`.
    pub fn expand_into<'a>(&self, lookup: impl Fn(&str) -> Var<'a>, out: &mut String) {
        for part in &self.parts {
            match part {
                Part::Literal(l) => out.push_str(l),
                Part::Expr(op, specs) => {
                    let mut first = true;
                    for spec in specs {
                        let value = lookup(&spec.name);
                        let items: &[_] = match &value {
                            Var::Undefined => continue,
                            Var::Str(_) => &[],
                            Var::List(l) if l.is_empty() => continue,
                            Var::List(l) => l,
                        };
                        out.push_str(if first { op.first } else { op.sep });
                        first = false;
                        match &value {
                            Var::Str(s) => {
                                if op.named {
                                    out.push_str(&spec.name);
                                    if s.is_empty() {
                                        out.push_str(op.ifemp);
                                        continue;
                                    }
                                    out.push('=');
                                }
                                let s: &str = s.as_ref();
                                let s: &str = match spec.prefix {
                                    Some(n) => match s.char_indices().nth(n) {
                                        Some((i, _)) => &s[..i],
                                        None => s,
                                    },
                                    None => s,
                                };
                                encode(out, s, op.reserved);
                            }
                            _ => {
                                if spec.explode {
                                    for (i, item) in items.iter().enumerate() {
                                        if i > 0 {
                                            out.push_str(op.sep);
                                        }
                                        if op.named {
                                            out.push_str(&spec.name);
                                            if item.is_empty() {
                                                out.push_str(op.ifemp);
                                                continue;
                                            }
                                            out.push('=');
                                        }
                                        encode(out, item, op.reserved);
                                    }
                                } else {
                                    if op.named {
                                        out.push_str(&spec.name);
                                        out.push('=');
                                    }
                                    for (i, item) in items.iter().enumerate() {
                                        if i > 0 {
                                            out.push(',');
                                        }
                                        encode(out, item, op.reserved);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn valid_varname(name: &str) -> bool {
    let b = name.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                return false;
            }
            i += 3;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.') {
            return false;
        }
        i += 1;
    }
    true
}

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

fn is_reserved(c: u8) -> bool {
    matches!(
        c,
        b':' | b'/'
            | b'?'
            | b'#'
            | b'['
            | b']'
            | b'@'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
    )
}

/// A value as a simple string expansion writes it: unreserved characters kept, every other
/// byte percent-encoded.
pub fn encode_unreserved(out: &mut String, s: &str) {
    encode(out, s, false);
}

fn encode(out: &mut String, s: &str, allow_reserved: bool) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if is_unreserved(c) || (allow_reserved && is_reserved(c)) {
            out.push(c as char);
        } else if allow_reserved
            && c == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            out.push('%');
        } else {
            let _ = write!(out, "%{c:02X}");
        }
        i += 1;
    }
}

fn encoded_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    encode_literal(&mut out, s);
    out
}

fn encode_literal(out: &mut String, s: &str) {
    for ch in s.chars() {
        if ch.is_ascii() && (is_unreserved(ch as u8) || is_reserved(ch as u8) || ch == '%') {
            out.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(t: &str) -> String {
        let list: Vec<Cow<'_, str>> = vec!["red".into(), "green".into(), "blue".into()];
        UriTemplate::parse(t).unwrap().expand(|n| match n {
            "var" => Var::Str("value".into()),
            "hello" => Var::Str("Hello World!".into()),
            "path" => Var::Str("/foo/bar".into()),
            "empty" => Var::Str("".into()),
            "list" => Var::List(list.clone()),
            "x" => Var::Str("1024".into()),
            "y" => Var::Str("768".into()),
            _ => Var::Undefined,
        })
    }

    #[test]
    fn rfc6570_examples() {
        assert_eq!(exp("{var}"), "value");
        assert_eq!(exp("{hello}"), "Hello%20World%21");
        assert_eq!(exp("{+hello}"), "Hello%20World!");
        assert_eq!(exp("{+path}/here"), "/foo/bar/here");
        assert_eq!(exp("{#hello}"), "#Hello%20World!");
        assert_eq!(exp("{x,y}"), "1024,768");
        assert_eq!(exp("{?x,y,empty}"), "?x=1024&y=768&empty=");
        assert_eq!(exp("{;x,y,empty}"), ";x=1024;y=768;empty");
        assert_eq!(exp("{/list*}"), "/red/green/blue");
        assert_eq!(exp("{?list}"), "?list=red,green,blue");
        assert_eq!(exp("{?list*}"), "?list=red&list=green&list=blue");
        assert_eq!(exp("{var:3}"), "val");
        assert_eq!(exp("{.undef}x"), "x");
        assert_eq!(exp("X{&x}"), "X&x=1024");
    }

    #[test]
    fn bad_templates() {
        assert!(UriTemplate::parse("{unclosed").is_err());
        assert!(UriTemplate::parse("{bad name}").is_err());
        assert!(UriTemplate::parse("a}b").is_err());
        assert!(UriTemplate::parse("{=x}").is_err());
    }
}
