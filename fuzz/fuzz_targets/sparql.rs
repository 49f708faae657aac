//! Arbitrary text as a query to the public endpoint: the guard's scan and limits, the parser,
//! then (for what the guard lets in) evaluation on a small in-memory store, cancelled after
//! 100 ms as the endpoint's timeout would. Nothing may panic or overflow its stack.
#![no_main]

// The endpoint's guard, compiled from its own source (the store crate needs RocksDB, which
// is not worth building under the fuzzer's instrumentation).
#[path = "../../crates/store/src/guard.rs"]
#[allow(dead_code)]
mod guard;

use libfuzzer_sys::fuzz_target;
use oxigraph::sparql::{CancellationToken, QueryResults, SparqlEvaluator};
use oxigraph::store::Store;
use std::sync::OnceLock;
use std::time::Duration;

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        let s = Store::new().unwrap();
        let data = r#"
            @prefix p: <http://reference.data.gov.uk/def/payment#> .
            @prefix ex: <http://example.org/> .
            ex:l1 a p:ExpenditureLine ; p:netAmount 12.5 ; ex:name "Acme"@en ; ex:next ex:l2 .
            ex:l2 a p:ExpenditureLine ; p:netAmount -3 ; ex:name "Café" ; ex:next ex:l3 .
            ex:l3 a p:ExpenditureLine ; p:date "2024-02-29"^^<http://www.w3.org/2001/XMLSchema#date> .
        "#;
        s.load_from_reader(oxigraph::io::RdfFormat::Turtle, data.as_bytes())
            .unwrap();
        s
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let text = text.to_string();
    let store = store().clone();
    let _ = guard::on_query_thread(move || {
        let _ = guard::parse_update(&text);
        if guard::parse(&text).is_err() {
            return;
        }
        // The endpoint's timeout, in small: cancel after 100 ms unless the query ends first.
        let token = CancellationToken::new();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let watchdog = {
            let token = token.clone();
            std::thread::spawn(move || {
                if finished.recv_timeout(Duration::from_millis(100)).is_err() {
                    token.cancel();
                }
            })
        };
        if let Ok(prepared) = SparqlEvaluator::new()
            .with_cancellation_token(token)
            .parse_query(&text)
        {
            match prepared.on_store(&store).execute() {
                Ok(QueryResults::Solutions(s)) => s.take(10_000).for_each(drop),
                Ok(QueryResults::Graph(g)) => g.take(10_000).for_each(drop),
                _ => {}
            }
        }
        let _ = done.send(());
        let _ = watchdog.join();
    });
});
