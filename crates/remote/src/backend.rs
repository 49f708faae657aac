//! `fivestar serve --backend URL`: queries answered by another SPARQL 1.1 store through the
//! SPARQL 1.1 Protocol alone (a URL-encoded POST with `default-graph-uri` and
//! `named-graph-uri`), its answer streamed back in whatever standard format it chose.
//!
//! One engine's deviation is mended here: Virtuoso 7.2 answers an ASK as a SELECT of one
//! variable, `__ASK_RETVAL`, with one row for true and none for false. An ASK answered with
//! solutions of that one variable is read as the boolean it stands for.

use fivestar_config::Backend as Settings;
use fivestar_store::rdf::{
    CancellationToken, NamedNode, QueryResults, QueryResultsFormat, QueryResultsParser,
    QueryTripleIter, RdfFormat, RdfParser,
};
use fivestar_store::{Backend, Error, Form, Result};
use std::io::Read;
use std::time::Duration;

/// A SPARQL query endpoint a read server answers from.
pub struct Endpoint {
    settings: Settings,
    client: reqwest::blocking::Client,
    auth: crate::auth::Auth,
}

impl Endpoint {
    /// `timeout` bounds one query (the server's own query timeout, a little more: the server
    /// stops waiting first and says so).
    pub fn new(settings: Settings, timeout: Duration) -> std::result::Result<Endpoint, String> {
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(timeout + Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| e.to_string())?;
        let auth = crate::auth::Auth::new(crate::auth::Names {
            token: settings.token_env.clone(),
            username: settings.username_env.clone(),
            password: settings.password_env.clone(),
        });
        Ok(Endpoint {
            settings,
            client,
            auth,
        })
    }

    fn failed(&self, e: impl std::fmt::Display) -> Error {
        Error::Backend(format!("{}: {e}", self.settings.query))
    }
}

/// A response body that stops when the query is cancelled (the server's timeout).
struct Cancellable<R> {
    inner: R,
    cancel: Option<CancellationToken>,
}

impl<R: Read> Read for Cancellable<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Err(std::io::Error::other("the query was cancelled"));
        }
        self.inner.read(buf)
    }
}

/// The media type of a `Content-Type` value, lower case, without parameters.
fn media_type(response: &reqwest::blocking::Response) -> String {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

impl Backend for Endpoint {
    fn describe(&self) -> String {
        self.settings.query.clone()
    }

    fn query(
        &self,
        query: &str,
        form: Form,
        default: &[NamedNode],
        named: &[NamedNode],
        cancel: Option<CancellationToken>,
    ) -> Result<QueryResults<'static>> {
        let mut parameters: Vec<(&str, &str)> = vec![("query", query)];
        parameters.extend(default.iter().map(|g| ("default-graph-uri", g.as_str())));
        parameters.extend(named.iter().map(|g| ("named-graph-uri", g.as_str())));
        let graph_form = form == Form::Graph;
        let accept = if graph_form {
            "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.8"
        } else {
            "application/sparql-results+json, application/sparql-results+xml;q=0.9"
        };
        let request = self
            .client
            .post(&self.settings.query)
            .header(reqwest::header::ACCEPT, accept)
            .form(&parameters)
            .build()
            .map_err(|e| self.failed(e))?;
        let response = self
            .auth
            .execute(&self.client, request)
            .map_err(|e| self.failed(e))?;
        let status = response.status();
        if !status.is_success() {
            let body: String = response
                .text()
                .unwrap_or_default()
                .chars()
                .take(500)
                .collect();
            let message = format!("HTTP {status}: {}", body.trim());
            // The backend's own refusal of the query (a syntax or evaluation error) is the
            // client's; anything else is the backend's.
            return Err(
                if status.is_client_error() && status.as_u16() != 401 && status.as_u16() != 403 {
                    Error::Invalid(message)
                } else {
                    self.failed(message)
                },
            );
        }
        let media = media_type(&response);
        let body = Cancellable {
            inner: response,
            cancel,
        };
        if graph_form {
            let format = RdfFormat::from_media_type(&media).unwrap_or(RdfFormat::NTriples);
            let endpoint = self.settings.query.clone();
            let triples = RdfParser::from_format(format)
                .for_reader(body)
                .map(move |q| {
                    q.map(Into::into).map_err(|e| {
                        fivestar_store::rdf::QueryEvaluationError::Service(
                            format!("{endpoint}: {e}").into(),
                        )
                    })
                });
            Ok(QueryResults::Graph(QueryTripleIter::new(triples)))
        } else {
            let format = QueryResultsFormat::from_media_type(&media)
                .ok_or_else(|| self.failed(format!("answered {media:?}, not SPARQL results")))?;
            let parsed = QueryResultsParser::from_format(format)
                .for_reader(body)
                .map_err(|e| self.failed(e))?;
            let results: QueryResults<'static> = parsed.into();
            Ok(match results {
                QueryResults::Solutions(rows)
                    if form == Form::Boolean
                        && matches!(rows.variables(), [v] if v.as_str().eq_ignore_ascii_case("__ASK_RETVAL")) =>
                {
                    let mut rows = rows;
                    match rows.next() {
                        None => QueryResults::Boolean(false),
                        Some(Ok(_)) => QueryResults::Boolean(true),
                        Some(Err(e)) => return Err(self.failed(e)),
                    }
                }
                other => other,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A one-shot endpoint on loopback: answers each request with the next of `answers`
    /// (status, content type, body) and reports the request bodies it got.
    fn endpoint(
        answers: Vec<(u16, &'static str, &'static str)>,
    ) -> (String, mpsc::Receiver<String>) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}/query", server.server_addr().to_ip().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for (status, media, body) in answers {
                let Ok(mut req) = server.recv() else { return };
                let mut got = String::new();
                let _ = req.as_reader().read_to_string(&mut got);
                let _ = tx.send(got);
                let header = tiny_http::Header::from_bytes("Content-Type", media).unwrap();
                let _ = req.respond(
                    tiny_http::Response::from_string(body)
                        .with_status_code(status)
                        .with_header(header),
                );
            }
        });
        (url, rx)
    }

    fn named(iri: &str) -> NamedNode {
        NamedNode::new_unchecked(iri)
    }

    #[test]
    fn the_dataset_goes_as_protocol_parameters_and_any_standard_answer_is_read() {
        let (url, got) = endpoint(vec![
            (
                200,
                "application/sparql-results+xml; charset=utf-8",
                "<?xml version=\"1.0\"?><sparql xmlns=\"http://www.w3.org/2005/sparql-results#\"><head><variable name=\"n\"/></head><results><result><binding name=\"n\"><literal>7</literal></binding></result></results></sparql>",
            ),
            (200, "text/turtle", "<http://x/s> <http://x/p> \"o\" ."),
        ]);
        let e = Endpoint::new(Settings::at(&url), Duration::from_secs(5)).unwrap();
        let r = e
            .query(
                "SELECT ?n WHERE { ?s ?p ?n }",
                Form::Solutions,
                &[named("http://x/g1"), named("http://x/g2")],
                &[named("http://x/g3")],
                None,
            )
            .unwrap();
        let QueryResults::Solutions(rows) = r else {
            panic!("not solutions")
        };
        let rows: Vec<_> = rows.collect::<std::result::Result<_, _>>().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get("n").unwrap().to_string(), "\"7\"");
        let form: Vec<(String, String)> =
            url::form_urlencoded::parse(got.recv().unwrap().as_bytes())
                .into_owned()
                .collect();
        let values = |k: &str| -> Vec<&str> {
            form.iter()
                .filter(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(values("query"), ["SELECT ?n WHERE { ?s ?p ?n }"]);
        assert_eq!(values("default-graph-uri"), ["http://x/g1", "http://x/g2"]);
        assert_eq!(values("named-graph-uri"), ["http://x/g3"]);
        let r = e
            .query(
                "CONSTRUCT WHERE { ?s ?p ?o }",
                Form::Graph,
                &[named("http://x/g1")],
                &[],
                None,
            )
            .unwrap();
        let QueryResults::Graph(triples) = r else {
            panic!("not triples")
        };
        assert_eq!(triples.count(), 1);
    }

    #[test]
    fn an_ask_answered_as_virtuoso_does_is_read_as_its_boolean() {
        let select = |rows: &str| {
            format!("{{ \"head\": {{ \"link\": [], \"vars\": [\"__ASK_RETVAL\"] }}, \"results\": {{ \"distinct\": false, \"ordered\": true, \"bindings\": [{rows}] }} }}")
        };
        let one = select(
            "{ \"__ASK_RETVAL\": { \"type\": \"typed-literal\", \"datatype\": \"http://www.w3.org/2001/XMLSchema#integer\", \"value\": \"1\" } }",
        );
        let none = select("");
        let (url, _got) = endpoint(vec![
            (200, "application/sparql-results+json", one.clone().leak()),
            (200, "application/sparql-results+json", none.leak()),
            (
                200,
                "application/sparql-results+json",
                "{\"head\": {}, \"boolean\": false}",
            ),
            (200, "application/sparql-results+json", one.leak()),
        ]);
        let e = Endpoint::new(Settings::at(&url), Duration::from_secs(5)).unwrap();
        let ask = |form| e.query("ASK { ?s ?p ?o }", form, &[named("http://x/g")], &[], None);
        assert!(matches!(
            ask(Form::Boolean),
            Ok(QueryResults::Boolean(true))
        ));
        assert!(matches!(
            ask(Form::Boolean),
            Ok(QueryResults::Boolean(false))
        ));
        // A standard answer is as it was.
        assert!(matches!(
            ask(Form::Boolean),
            Ok(QueryResults::Boolean(false))
        ));
        // A SELECT that happens to name that variable keeps its rows.
        assert!(matches!(
            ask(Form::Solutions),
            Ok(QueryResults::Solutions(_))
        ));
    }

    #[test]
    fn refusals_are_the_querys_and_failures_the_backends() {
        let (url, _got) = endpoint(vec![
            (400, "text/plain", "syntax error at 1:3"),
            (503, "text/plain", "overloaded"),
            (200, "text/html", "<html>a login page</html>"),
        ]);
        let e = Endpoint::new(Settings::at(&url), Duration::from_secs(5)).unwrap();
        let ask =
            |e: &Endpoint| e.query("ASK {}", Form::Boolean, &[named("http://x/g")], &[], None);
        match ask(&e) {
            Err(Error::Invalid(m)) => {
                assert!(m.contains("400") && m.contains("syntax error"), "{m}")
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
        match ask(&e) {
            Err(Error::Backend(m)) => assert!(m.contains("503") && m.contains(&url), "{m}"),
            other => panic!("{:?}", other.map(|_| ())),
        }
        match ask(&e) {
            Err(Error::Backend(m)) => assert!(m.contains("not SPARQL results"), "{m}"),
            other => panic!("{:?}", other.map(|_| ())),
        }
        // Nobody there.
        drop(_got);
        let e = Endpoint::new(
            Settings::at("http://127.0.0.1:9/query"),
            Duration::from_secs(5),
        )
        .unwrap();
        assert!(matches!(ask(&e), Err(Error::Backend(_))));
    }

    #[test]
    fn a_cancelled_query_stops_reading() {
        let (url, _got) = endpoint(vec![(
            200,
            "application/n-triples",
            "<http://x/s> <http://x/p> \"1\" .\n<http://x/s> <http://x/p> \"2\" .\n",
        )]);
        let e = Endpoint::new(Settings::at(&url), Duration::from_secs(5)).unwrap();
        let token = CancellationToken::new();
        token.cancel();
        let r = e
            .query(
                "CONSTRUCT WHERE { ?s ?p ?o }",
                Form::Graph,
                &[named("http://x/g")],
                &[],
                Some(token),
            )
            .unwrap();
        let QueryResults::Graph(mut triples) = r else {
            panic!("not triples")
        };
        assert!(triples.next().unwrap().is_err());
    }
}
