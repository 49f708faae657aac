//! Limits that keep one query from taking the process down.
//!
//! The SPARQL parser, the optimiser and the evaluator all recurse over the query, so a query
//! nested thousands of levels deep (parentheses, `{}`, UNION or OPTIONAL chains, `1+1+…`)
//! overflows a thread's stack, and Rust aborts the whole process. So a query is first
//! scanned without recursion (bracket depth, property-path operators, and the keywords that
//! add algebra levels: the parser recurses over a long `/` chain and takes quadratic time
//! over a long BIND chain), then parsed and measured for algebra depth, and refused past the
//! limits below with a message naming them; and every query is parsed and evaluated on a
//! thread of its own with a stack of [`QUERY_STACK_BYTES`]. Measured with
//! `deepest_allowed_queries_run` and `deep_queries_are_refused_with_a_reason`: 8 MB held the
//! deepest query of each kind the limits let in, and 64 MB also holds parsing a 2 MB query
//! (the endpoint's largest body) of each kind before its refusal.

use spargebra::algebra::{
    AggregateExpression, Expression, GraphPattern, OrderExpression, PropertyPathExpression,
};
use spargebra::term::TermPattern;
use spargebra::Query;

/// Brackets (`(`, `{`, `[`) open at once, at most.
pub const MAX_NESTING: usize = 128;
/// Property path operators and divisions, at most.
pub const MAX_PATH_OPERATORS: usize = 1024;
/// `UNION`, `OPTIONAL`, `MINUS`, `BIND` and `FILTER` keywords, at most.
pub const MAX_GROUP_KEYWORDS: usize = 1024;
/// The depth of the query's algebra tree, at most.
pub const MAX_ALGEBRA_DEPTH: usize = 256;
/// The stack of a query thread. Reserved, not committed: only the pages a query touches
/// are backed by memory.
pub const QUERY_STACK_BYTES: usize = 64 << 20;

/// Why a query was refused before evaluation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the query nests brackets {0} deep; this endpoint allows {MAX_NESTING}")]
    Nesting(usize),
    #[error("the query's algebra is {0} levels deep (long UNION, OPTIONAL or operator chains count too); this endpoint allows {MAX_ALGEBRA_DEPTH}")]
    Depth(usize),
    #[error("the query has {0} property path operators or divisions; this endpoint allows {MAX_PATH_OPERATORS}")]
    PathOperators(usize),
    #[error("the query has {0} UNION, OPTIONAL, MINUS, BIND and FILTER keywords; this endpoint allows {MAX_GROUP_KEYWORDS}")]
    Keywords(usize),
    #[error("SPARQL syntax error: {0}")]
    Syntax(String),
}

/// What a scan of a query's text finds, without recursion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// The deepest run of open brackets.
    pub nesting: usize,
    /// Property path operators (`/`, `|`, a lone `^`) and divisions: the parser recurses
    /// over a chain of them.
    pub path_operators: usize,
    /// The keywords that add a level to the algebra (`UNION`, `OPTIONAL`, `MINUS`, `BIND`,
    /// `FILTER`): the parser takes time quadratic in a long run of some of them.
    pub group_keywords: usize,
}

/// Scans a query text: strings, IRIs and comments are skipped, so `"(((("` or
/// `<http://x/(>` do not count.
pub fn shape(text: &str) -> Shape {
    let b = text.as_bytes();
    let (mut depth, mut deepest, mut i, mut ops, mut keywords) = (0usize, 0, 0, 0, 0);
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            q @ (b'"' | b'\'') => {
                let long = b.len() >= i + 3 && b[i + 1] == q && b[i + 2] == q;
                i += if long { 3 } else { 1 };
                while i < b.len() {
                    if b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == q && (!long || (b.len() >= i + 3 && b[i + 1] == q && b[i + 2] == q))
                    {
                        i += if long { 2 } else { 0 };
                        break;
                    }
                    if !long && b[i] == b'\n' {
                        break;
                    }
                    i += 1;
                }
            }
            b'<' => {
                // An IRI reference runs to '>' without spaces or these characters; otherwise
                // '<' is the comparison operator.
                let end = b[i + 1..]
                    .iter()
                    .position(|&c| c <= b' ' || b"<\"{}|^`\\>".contains(&c));
                if let Some(n) = end {
                    if b[i + 1 + n] == b'>' {
                        i += n + 1;
                    }
                }
            }
            b'(' | b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b'}' | b']' => depth = depth.saturating_sub(1),
            b'/' | b'|' => ops += 1,
            c if c.is_ascii_alphabetic()
                && (i == 0
                    || !(b[i - 1].is_ascii_alphanumeric() || b"_:?$-.".contains(&b[i - 1]))) =>
            {
                let end = b[i..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-'))
                    .map_or(b.len(), |n| i + n);
                let word = &text[i..end];
                if b.get(end) != Some(&b':')
                    && ["union", "optional", "minus", "bind", "filter"]
                        .iter()
                        .any(|k| word.eq_ignore_ascii_case(k))
                {
                    keywords += 1;
                }
                i = end;
                continue;
            }
            b'^' if b.get(i + 1) != Some(&b'^') && (i == 0 || b[i - 1] != b'^') => ops += 1,
            _ => {}
        }
        i += 1;
    }
    Shape {
        nesting: deepest,
        path_operators: ops,
        group_keywords: keywords,
    }
}

/// Checks a query's text and parses it. Call on a query thread ([`on_query_thread`]).
pub fn parse(text: &str) -> Result<Query, Refused> {
    let shape = shape(text);
    if shape.nesting > MAX_NESTING {
        return Err(Refused::Nesting(shape.nesting));
    }
    if shape.group_keywords > MAX_GROUP_KEYWORDS {
        return Err(Refused::Keywords(shape.group_keywords));
    }
    if shape.path_operators > MAX_PATH_OPERATORS {
        return Err(Refused::PathOperators(shape.path_operators));
    }
    let query = spargebra::SparqlParser::new()
        .parse_query(text)
        .map_err(|e| Refused::Syntax(e.to_string()))?;
    let pattern = match &query {
        Query::Select { pattern, .. }
        | Query::Construct { pattern, .. }
        | Query::Describe { pattern, .. }
        | Query::Ask { pattern, .. } => pattern,
    };
    let depth = pattern_depth(pattern);
    if depth > MAX_ALGEBRA_DEPTH {
        return Err(Refused::Depth(depth));
    }
    Ok(query)
}

/// Runs `f` on a new thread with a stack that holds the deepest allowed query, and waits.
pub fn on_query_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<T> {
    let handle = std::thread::Builder::new()
        .name("fivestar-query".into())
        .stack_size(QUERY_STACK_BYTES)
        .spawn(f)?;
    handle
        .join()
        .map_err(|_| std::io::Error::other("the query thread panicked"))
}

/// Starts `f` on a query thread and returns at once. The threads are kept: a thread with
/// a large stack costs more to start than a lookup costs to answer. A thread waits for work
/// for a minute before it ends; there are never more than the jobs given at once (the
/// endpoint bounds those).
pub fn spawn_query_thread(f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    pool::submit(Box::new(f))
}

mod pool {
    use std::collections::VecDeque;
    use std::sync::{Condvar, Mutex, OnceLock};
    use std::time::Duration;

    type Job = Box<dyn FnOnce() + Send>;

    #[derive(Default)]
    struct Queue {
        jobs: VecDeque<Job>,
        /// Threads waiting for a job.
        idle: usize,
    }

    #[derive(Default)]
    struct Pool {
        queue: Mutex<Queue>,
        ready: Condvar,
    }

    const IDLE: Duration = Duration::from_secs(60);

    fn pool() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(Pool::default)
    }

    pub(super) fn submit(job: Job) -> std::io::Result<()> {
        let p = pool();
        let mut q = p.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.jobs.push_back(job);
        // More jobs waiting than threads waiting: one more thread.
        if q.jobs.len() > q.idle {
            let started = std::thread::Builder::new()
                .name("fivestar-query".into())
                .stack_size(super::QUERY_STACK_BYTES)
                .spawn(work);
            if let Err(e) = started {
                // Nobody will run it: take it back, and say so.
                q.jobs.pop_back();
                return Err(e);
            }
        }
        drop(q);
        p.ready.notify_one();
        Ok(())
    }

    fn work() {
        let p = pool();
        let mut q = p.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(job) = q.jobs.pop_front() {
                drop(q);
                // A panicking job ends its own work (its caller sees its channel close),
                // not the thread.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                q = p.queue.lock().unwrap_or_else(|e| e.into_inner());
                continue;
            }
            q.idle += 1;
            let (back, waited) = p
                .ready
                .wait_timeout(q, IDLE)
                .unwrap_or_else(|e| e.into_inner());
            q = back;
            q.idle -= 1;
            if waited.timed_out() && q.jobs.is_empty() {
                return;
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::sync::mpsc;

        #[test]
        fn jobs_run_at_once_side_by_side_and_a_panic_does_not_lose_the_thread() {
            // Four jobs that each wait for all four to start: they must run side by side.
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
            let (tx, rx) = mpsc::channel();
            for i in 0..4 {
                let (b, tx) = (barrier.clone(), tx.clone());
                submit(Box::new(move || {
                    b.wait();
                    tx.send(i).unwrap();
                }))
                .unwrap();
            }
            let mut got: Vec<i32> = (0..4)
                .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
                .collect();
            got.sort();
            assert_eq!(got, [0, 1, 2, 3]);
            submit(Box::new(|| panic!("a query thread's job panics"))).unwrap();
            let tx2 = tx.clone();
            submit(Box::new(move || tx2.send(9).unwrap())).unwrap();
            assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 9);
            // The stack is the query stack: deep recursion fits.
            fn depth(n: u32) -> u32 {
                let pad = [n as u8; 512];
                if n == 0 {
                    0
                } else {
                    1 + depth(n - 1) + u32::from(std::hint::black_box(pad)[0] == 255)
                }
            }
            submit(Box::new(move || tx.send(depth(10_000) as i32).unwrap())).unwrap();
            assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap() >= 10_000);
        }
    }
}

/// Whether the text is a SPARQL update (to say so rather than report a syntax error).
/// Only a text within the guard's limits is parsed. Call on a query thread.
pub fn parse_update(text: &str) -> bool {
    let s = shape(text);
    s.nesting <= MAX_NESTING
        && s.path_operators <= MAX_PATH_OPERATORS
        && s.group_keywords <= MAX_GROUP_KEYWORDS
        && spargebra::SparqlParser::new().parse_update(text).is_ok()
}

/// The longest query text [`lookup`] takes.
const LOOKUP_MAX_BYTES: usize = 4096;

/// A query that reads what a named resource says: short, shallow, without property paths,
/// `UNION`, `OPTIONAL`, `MINUS`, `BIND` or `FILTER`, and one triple pattern with an IRI for
/// subject (`SELECT ?p ?o WHERE { <x> ?p ?o }`: a linked-data lookup; see `is_lookup`). Its text is parsed here,
/// on any thread: it is too short and too shallow for the parser's recursion to matter.
/// `None` for any other query (and for one that does not parse: the query thread says why).
pub fn lookup(text: &str) -> Option<Query> {
    if text.len() > LOOKUP_MAX_BYTES {
        return None;
    }
    let s = shape(text);
    if s.nesting > 4 || s.path_operators > 0 || s.group_keywords > 0 {
        return None;
    }
    let query = spargebra::SparqlParser::new().parse_query(text).ok()?;
    let pattern = match &query {
        Query::Select { pattern, .. }
        | Query::Construct { pattern, .. }
        | Query::Ask { pattern, .. } => pattern,
        Query::Describe { .. } => return None,
    };
    is_lookup(pattern).then_some(query)
}

/// One triple pattern with an IRI subject and no variable twice, under at most a projection
/// or a `LIMIT`: each triple the index scan reads is a row of the answer, so a budget of rows
/// bounds the work. (Two patterns could join to nothing after scanning much; `DISTINCT` could
/// read many rows to answer a few; `<x> ?v ?v` could scan all of `<x>` to match none; an
/// `OFFSET` reads the rows it skips.)
fn is_lookup(pattern: &GraphPattern) -> bool {
    match pattern {
        GraphPattern::Project { inner, .. }
        | GraphPattern::Slice {
            inner, start: 0, ..
        } => is_lookup(inner),
        GraphPattern::Bgp { patterns } => match patterns.as_slice() {
            [t] => {
                let repeated = match (&t.predicate, &t.object) {
                    (spargebra::term::NamedNodePattern::Variable(p), TermPattern::Variable(o)) => {
                        p == o
                    }
                    _ => false,
                };
                matches!(t.subject, TermPattern::NamedNode(_)) && !repeated
            }
            _ => false,
        },
        _ => false,
    }
}

/// The first SERVICE a query calls (its IRI or variable), looked for everywhere, FILTER
/// EXISTS included: a read server refuses it before sending the query to its backend, which
/// might follow it. Call on a query thread (the walk recurses like the parser).
pub fn service_of(query: &Query) -> Option<String> {
    let pattern = match query {
        Query::Select { pattern, .. }
        | Query::Construct { pattern, .. }
        | Query::Describe { pattern, .. }
        | Query::Ask { pattern, .. } => pattern,
    };
    let mut found = None;
    pattern_service(pattern, &mut found);
    found
}

fn pattern_service(p: &GraphPattern, found: &mut Option<String>) {
    if found.is_some() {
        return;
    }
    match p {
        GraphPattern::Service { name, .. } => *found = Some(name.to_string()),
        GraphPattern::Bgp { .. } | GraphPattern::Values { .. } | GraphPattern::Path { .. } => {}
        GraphPattern::Join { left, right }
        | GraphPattern::Lateral { left, right }
        | GraphPattern::Union { left, right }
        | GraphPattern::Minus { left, right } => {
            pattern_service(left, found);
            pattern_service(right, found);
        }
        GraphPattern::LeftJoin {
            left,
            right,
            expression,
        } => {
            pattern_service(left, found);
            pattern_service(right, found);
            if let Some(e) = expression {
                expression_service(e, found);
            }
        }
        GraphPattern::Filter { expr, inner } => {
            expression_service(expr, found);
            pattern_service(inner, found);
        }
        GraphPattern::Extend {
            inner, expression, ..
        } => {
            expression_service(expression, found);
            pattern_service(inner, found);
        }
        GraphPattern::OrderBy { inner, expression } => {
            for o in expression {
                let (OrderExpression::Asc(e) | OrderExpression::Desc(e)) = o;
                expression_service(e, found);
            }
            pattern_service(inner, found);
        }
        GraphPattern::Group {
            inner, aggregates, ..
        } => {
            for (_, a) in aggregates {
                if let AggregateExpression::FunctionCall { expr, .. } = a {
                    expression_service(expr, found);
                }
            }
            pattern_service(inner, found);
        }
        GraphPattern::Graph { inner, .. }
        | GraphPattern::Project { inner, .. }
        | GraphPattern::Distinct { inner }
        | GraphPattern::Reduced { inner }
        | GraphPattern::Slice { inner, .. } => pattern_service(inner, found),
    }
}

fn expression_service(e: &Expression, found: &mut Option<String>) {
    match e {
        Expression::NamedNode(_)
        | Expression::Literal(_)
        | Expression::Variable(_)
        | Expression::Bound(_) => {}
        Expression::Or(a, b)
        | Expression::And(a, b)
        | Expression::Equal(a, b)
        | Expression::SameTerm(a, b)
        | Expression::Greater(a, b)
        | Expression::GreaterOrEqual(a, b)
        | Expression::Less(a, b)
        | Expression::LessOrEqual(a, b)
        | Expression::Add(a, b)
        | Expression::Subtract(a, b)
        | Expression::Multiply(a, b)
        | Expression::Divide(a, b) => {
            expression_service(a, found);
            expression_service(b, found);
        }
        Expression::In(a, v) => {
            expression_service(a, found);
            v.iter().for_each(|e| expression_service(e, found));
        }
        Expression::UnaryPlus(a) | Expression::UnaryMinus(a) | Expression::Not(a) => {
            expression_service(a, found)
        }
        Expression::Exists(p) => pattern_service(p, found),
        Expression::If(a, b, c) => {
            expression_service(a, found);
            expression_service(b, found);
            expression_service(c, found);
        }
        Expression::Coalesce(v) | Expression::FunctionCall(_, v) => {
            v.iter().for_each(|e| expression_service(e, found))
        }
    }
}

fn pattern_depth(p: &GraphPattern) -> usize {
    1 + match p {
        // The optimiser turns a basic graph pattern into a tree of joins.
        GraphPattern::Bgp { patterns } => patterns.len(),
        GraphPattern::Values { .. } => 0,
        GraphPattern::Path { path, .. } => path_depth(path),
        GraphPattern::Join { left, right }
        | GraphPattern::Lateral { left, right }
        | GraphPattern::Union { left, right }
        | GraphPattern::Minus { left, right } => pattern_depth(left).max(pattern_depth(right)),
        GraphPattern::LeftJoin {
            left,
            right,
            expression,
        } => pattern_depth(left)
            .max(pattern_depth(right))
            .max(expression.as_ref().map_or(0, expression_depth)),
        GraphPattern::Filter { expr, inner } => expression_depth(expr).max(pattern_depth(inner)),
        GraphPattern::Extend {
            inner, expression, ..
        } => expression_depth(expression).max(pattern_depth(inner)),
        GraphPattern::OrderBy { inner, expression } => expression
            .iter()
            .map(|o| match o {
                OrderExpression::Asc(e) | OrderExpression::Desc(e) => expression_depth(e),
            })
            .max()
            .unwrap_or(0)
            .max(pattern_depth(inner)),
        GraphPattern::Group {
            inner, aggregates, ..
        } => aggregates
            .iter()
            .map(|(_, a)| match a {
                AggregateExpression::CountSolutions { .. } => 0,
                AggregateExpression::FunctionCall { expr, .. } => expression_depth(expr),
            })
            .max()
            .unwrap_or(0)
            .max(pattern_depth(inner)),
        GraphPattern::Graph { inner, .. }
        | GraphPattern::Project { inner, .. }
        | GraphPattern::Distinct { inner }
        | GraphPattern::Reduced { inner }
        | GraphPattern::Slice { inner, .. }
        | GraphPattern::Service { inner, .. } => pattern_depth(inner),
    }
}

fn path_depth(p: &PropertyPathExpression) -> usize {
    1 + match p {
        PropertyPathExpression::NamedNode(_) | PropertyPathExpression::NegatedPropertySet(_) => 0,
        PropertyPathExpression::Sequence(a, b) | PropertyPathExpression::Alternative(a, b) => {
            path_depth(a).max(path_depth(b))
        }
        PropertyPathExpression::Reverse(a)
        | PropertyPathExpression::ZeroOrMore(a)
        | PropertyPathExpression::OneOrMore(a)
        | PropertyPathExpression::ZeroOrOne(a) => path_depth(a),
    }
}

fn expression_depth(e: &Expression) -> usize {
    let many = |v: &[Expression]| v.iter().map(expression_depth).max().unwrap_or(0);
    1 + match e {
        Expression::NamedNode(_)
        | Expression::Literal(_)
        | Expression::Variable(_)
        | Expression::Bound(_) => 0,
        Expression::Or(a, b)
        | Expression::And(a, b)
        | Expression::Equal(a, b)
        | Expression::SameTerm(a, b)
        | Expression::Greater(a, b)
        | Expression::GreaterOrEqual(a, b)
        | Expression::Less(a, b)
        | Expression::LessOrEqual(a, b)
        | Expression::Add(a, b)
        | Expression::Subtract(a, b)
        | Expression::Multiply(a, b)
        | Expression::Divide(a, b) => expression_depth(a).max(expression_depth(b)),
        Expression::In(a, v) => expression_depth(a).max(many(v)),
        Expression::UnaryPlus(a) | Expression::UnaryMinus(a) | Expression::Not(a) => {
            expression_depth(a)
        }
        Expression::Exists(p) => pattern_depth(p),
        Expression::If(a, b, c) => expression_depth(a)
            .max(expression_depth(b))
            .max(expression_depth(c)),
        Expression::Coalesce(v) | Expression::FunctionCall(_, v) => many(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_told_from_other_queries() {
        for q in [
            "SELECT ?p ?o WHERE { <http://x/s> ?p ?o }",
            "SELECT ?o WHERE { <http://x/s> <http://x/p> ?o } LIMIT 5",
            "PREFIX x: <http://x/> CONSTRUCT { x:s ?p ?o } WHERE { x:s ?p ?o }",
            "ASK { <http://x/s> a <http://x/C> }",
            // A subquery that is a lookup, projected again.
            "SELECT ?o WHERE { { SELECT ?o WHERE { <http://x/s> ?p ?o } } }",
        ] {
            assert!(lookup(q).is_some(), "{q}");
        }
        for q in [
            // A variable subject: a scan.
            "SELECT ?s WHERE { ?s ?p ?o }",
            "SELECT ?s WHERE { <http://x/s> ?p ?o . ?s ?p ?o }",
            // Two patterns (a join), DISTINCT, a variable twice: work not bounded by rows.
            "SELECT ?o WHERE { <http://x/s> ?p ?o . <http://x/t> ?q ?r }",
            "SELECT DISTINCT ?p WHERE { <http://x/s> ?p ?o }",
            "SELECT ?v WHERE { <http://x/s> ?v ?v }",
            "SELECT ?o WHERE { <http://x/s> ?p ?o } OFFSET 1000000 LIMIT 1",
            // Paths, groups, filters, aggregates, order, subqueries, unions.
            "SELECT ?o WHERE { <http://x/s> <http://x/p>/<http://x/q> ?o }",
            "SELECT ?o WHERE { <http://x/s> ?p ?o FILTER(?o > 1) }",
            "SELECT (COUNT(*) AS ?n) WHERE { <http://x/s> ?p ?o }",
            "SELECT ?o WHERE { <http://x/s> ?p ?o } ORDER BY ?o",
            "SELECT ?o WHERE { { <http://x/s> ?p ?o } UNION { <http://x/t> ?p ?o } }",
            "SELECT ?o WHERE { GRAPH ?g { <http://x/s> ?p ?o } }",
            "SELECT ?o WHERE { SERVICE <http://x/e> { <http://x/s> ?p ?o } }",
            "DESCRIBE <http://x/s>",
            "SELECT ?o WHERE { }",
            "not sparql",
        ] {
            assert!(lookup(q).is_none(), "{q}");
        }
        let long = format!(
            "SELECT ?o WHERE {{ <http://x/{}> ?p ?o }}",
            "s".repeat(LOOKUP_MAX_BYTES)
        );
        assert!(lookup(&long).is_none());
    }
    use oxigraph::sparql::{QueryResults, SparqlEvaluator};
    use oxigraph::store::Store;

    #[test]
    fn a_service_is_found_wherever_it_is() {
        let service = |q: &str| service_of(&parse(q).unwrap());
        for q in [
            "SELECT * { SERVICE <http://evil.example/sparql> { ?s ?p ?o } }",
            "SELECT * { ?s ?p ?o OPTIONAL { SERVICE SILENT <http://evil.example/sparql> { ?s ?q ?r } } }",
            "ASK { ?s ?p ?o FILTER EXISTS { SERVICE <http://evil.example/sparql> { ?s ?q ?r } } }",
            "SELECT (COUNT(*) AS ?n) { { ?s ?p ?o } UNION { GRAPH ?g { SERVICE <http://evil.example/sparql> { ?s ?q ?r } } } }",
            "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o BIND(IF(EXISTS { SERVICE <http://evil.example/sparql> {} }, 1, 2) AS ?x) }",
        ] {
            assert_eq!(service(q).as_deref(), Some("<http://evil.example/sparql>"), "{q}");
        }
        assert_eq!(
            service("SELECT * { SERVICE ?where { ?s ?p ?o } }").as_deref(),
            Some("?where")
        );
        assert_eq!(
            service("SELECT * { ?s <http://x/service> \"SERVICE <http://evil.example/>\" }"),
            None
        );
    }

    #[test]
    fn brackets_in_strings_iris_and_comments_do_not_count() {
        let nesting = |q: &str| shape(q).nesting;
        assert_eq!(nesting("SELECT * { ?s ?p ?o }"), 1);
        assert_eq!(
            nesting("SELECT * { ?s <http://x/((((> \"(((\" . # ((((\n FILTER(?o < 3) }"),
            2
        );
        assert_eq!(nesting("ASK { FILTER('''a ' (( ''' = \"\\\"(\") }"), 2);
        assert_eq!(nesting(&"(".repeat(10_000)), 10_000);
        let ops = |q: &str| shape(q).path_operators;
        let keywords = |q: &str| shape(q).group_keywords;
        assert_eq!(
            keywords("SELECT * { ?s ex:bind ?union ; <http://x/filter> \"OPTIONAL\" OPTIONAL { ?s ?p 1 } MINUS { ?s ?p 2 } BIND(1 AS ?x) filter(true) }"),
            4
        );
        assert_eq!(
            ops("ASK { ?s <http://x/a/b>/^<http://x/c>|<p> \"a/b\"^^<http://x/t> }"),
            3
        );
    }

    fn deep(kind: &str, n: usize) -> String {
        match kind {
            "parentheses" => format!("ASK {{ FILTER({}true{}) }}", "(".repeat(n), ")".repeat(n)),
            "braces" => format!("ASK {}?s ?p ?o{}", "{".repeat(n), "}".repeat(n)),
            "union" => format!("ASK {{ {{?s ?p 1}}{} }}", " UNION {?s ?p 1}".repeat(n)),
            "optional" => format!("ASK {{ ?s ?p ?o {} }}", "OPTIONAL {?s ?p 1} ".repeat(n)),
            "plus" => format!("ASK {{ FILTER(1{} = 2) }}", " + 1".repeat(n)),
            "path" => format!("ASK {{ ?s <http://x/p>{} ?o }}", "/<http://x/p>".repeat(n)),
            "bind" => format!(
                "SELECT * {{ {} }}",
                (0..n)
                    .map(|i| format!("BIND({i} AS ?v{i})"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            _ => unreachable!(),
        }
    }

    const KINDS: [&str; 7] = [
        "parentheses",
        "braces",
        "union",
        "optional",
        "plus",
        "path",
        "bind",
    ];

    #[test]
    fn deep_queries_are_refused_with_a_reason() {
        // 2 MB, the largest body the endpoint reads, of each kind.
        for kind in KINDS {
            let one = deep(kind, 2).len() - deep(kind, 1).len();
            let q = deep(kind, (2 << 20) / one);
            let r = on_query_thread(move || parse(&q).map(|_| ())).unwrap();
            assert!(
                matches!(
                    r,
                    Err(Refused::Nesting(_)
                        | Refused::Depth(_)
                        | Refused::PathOperators(_)
                        | Refused::Keywords(_))
                ),
                "{kind}: {r:?}"
            );
        }
    }

    /// The deepest queries the limits let in parse, optimise and evaluate on a query
    /// thread (a test would abort the test binary if the stack were too small).
    #[test]
    fn deepest_allowed_queries_run() {
        let store = Store::new().unwrap();
        for kind in KINDS {
            // The largest n each kind may reach under the limits.
            let (mut ok, mut refused) = (1, MAX_ALGEBRA_DEPTH * 2);
            while refused - ok > 1 {
                let mid = (ok + refused) / 2;
                match parse_on_thread(deep(kind, mid)) {
                    Ok(()) => ok = mid,
                    Err(_) => refused = mid,
                }
            }
            let n = ok;
            assert!(n >= 60, "{kind}: only {n} allowed");
            let q = deep(kind, n);
            let s = store.clone();
            let started = std::time::Instant::now();
            on_query_thread(move || {
                let r = SparqlEvaluator::new()
                    .parse_query(&q)
                    .unwrap()
                    .on_store(&s)
                    .execute()
                    .unwrap();
                match r {
                    QueryResults::Boolean(_) => {}
                    QueryResults::Solutions(s) => s.for_each(drop),
                    QueryResults::Graph(g) => g.for_each(drop),
                }
            })
            .unwrap();
            eprintln!("{kind}: {n} in {:?}", started.elapsed());
        }
    }

    fn parse_on_thread(q: String) -> Result<(), Refused> {
        on_query_thread(move || parse(&q).map(|_| ())).unwrap()
    }
}
