//! Summaries: the totals people ask of a release (spend per supplier, per month, per service
//! area, per council), computed while the release is loaded, from the same quads, and kept as
//! RDF Data Cube observations in a graph beside the release's (`{release graph}/summary`).
//! The dataset's figures, pages and example queries read them there instead of aggregating
//! millions of lines.
//!
//! A summary sums one property (its measure, such as `payment:netAmount`) over the subjects
//! that have it, grouped by the values of other properties (its dimensions, such as
//! `payment:payee`). The result is the same as the SPARQL aggregate
//!
//! ```sparql
//! SELECT ?d1 ?d2 (SUM(?m) AS ?total) (COUNT(*) AS ?lines)
//! WHERE { ?s <measure> ?m ; <d1> ?d1 . OPTIONAL { ?s <d2> ?d2 } } GROUP BY ?d1 ?d2
//! ```
//!
//! (a test holds it to that), computed in one pass: a subject's summed and grouped-by values
//! are gathered while its statements arrive, and it is counted once 16 other such subjects
//! have come after it. That holds for csv2rdf output, where a row's statements come together;
//! a subject whose statements are spread further apart is counted in parts, which changes
//! nothing when each part has the measure and the dimensions.
//!
//! Each summary is a `qb:DataSet` with its `qb:DataStructureDefinition`: the dimensions are the
//! summed lines' own properties, the measures are `fs:total` (the sum) and `fs:lines` (how many
//! lines). Deviation from the Data Cube's well-formedness rule IC-11 (every dimension has a
//! value): a dimension listed as optional is left out of an observation whose lines have no
//! value for it, as the SPARQL `OPTIONAL` above leaves it unbound.
//!
//! A summary may copy its members' names into its graph (`labels`, such as `rdfs:label`):
//! each literal value of those properties on a dimension's value (an IRI) is kept, so that
//! "the ten largest suppliers, by name" reads one small graph. Names are matched to members
//! in the same pass: a name stated after its member was first grouped by is kept, and so is
//! one stated shortly before (within the last 64 names of subjects not yet grouped by, which
//! holds for csv2rdf output, where a row's statements come together). A name stated far
//! before its member's first line is missed.

use oxigraph::model::{
    vocab::{rdf, rdfs, xsd},
    GraphNameRef, Literal, LiteralRef, NamedNode, NamedNodeRef, NamedOrBlankNode,
    NamedOrBlankNodeRef, Quad, QuadRef, Term, TermRef,
};
use oxsdatatypes::Decimal;
// Not SipHash: these maps are looked up for every quad of a release.
use foldhash::{HashMap, HashMapExt};
use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::str::FromStr;

/// A summary to compute: full IRIs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SummarySpec {
    /// A slug, unique within the dataset: the summary's `qb:DataSet` is `{graph}#{id}`.
    pub id: String,
    pub title: String,
    /// The property summed.
    pub measure: String,
    /// The properties grouped by, in order.
    pub dimensions: Vec<String>,
    /// Those of `dimensions` a line may lack (it is then counted without them).
    #[serde(default)]
    pub optional: Vec<String>,
    /// Properties whose literal values on the dimensions' values (IRIs) are copied into the
    /// summary's graph (see the module's notes).
    #[serde(default)]
    pub labels: Vec<String>,
}

const QB: &str = "http://purl.org/linked-data/cube#";
const PROV_DERIVED: &str = "http://www.w3.org/ns/prov#wasDerivedFrom";

/// How many subjects are kept open at once (see the module's notes). Only subjects with a
/// summed or grouped-by property are opened: a row's own, and rarely another.
const WINDOW: usize = 16;

/// Stands for a missing optional dimension in a group's key.
const NONE: u32 = u32::MAX;

/// How many names of subjects not grouped by (yet) are kept, for a member whose name comes
/// shortly before its first line (see the module's notes).
const NAMES_WINDOW: usize = 64;

/// One subject's values of the properties some summary reads, by property: grouped-by
/// values as interned ids, summed values as their term (to keep a statement once) and number.
#[derive(Default)]
struct Open {
    subject: Option<NamedOrBlankNode>,
    /// The subject's [`fingerprint`], compared before the subject itself.
    print: u64,
    ids: Vec<Vec<u32>>,
    numbers: Vec<Vec<(Term, Option<Decimal>)>>,
}

impl Open {
    fn clear(&mut self) {
        self.subject = None;
        self.print = 0;
        self.ids.iter_mut().for_each(Vec::clear);
        self.numbers.iter_mut().for_each(Vec::clear);
    }
}

/// A group's running total: `None` once a value was not a number (SPARQL's SUM is then an
/// error and leaves the total unbound).
struct Acc {
    total: Option<Decimal>,
    lines: u64,
}

/// One summary's groups: each group's key (its dimensions' ids) kept in one vector, found
/// through a table of group numbers, or for a key of one id through a vector by that id (the
/// ids are numbered from 0 as terms first appear). Not a map of boxed keys: a subject's
/// lookups then read one table and one vector, not a key on the heap each.
#[derive(Default)]
struct Groups {
    width: usize,
    keys: Vec<u32>,
    accs: Vec<Acc>,
    table: hashbrown::HashTable<u32>,
    /// For a key of one id (not [`NONE`]): its group's number plus one, by that id; 0 for none.
    by_id: Vec<u32>,
    hasher: foldhash::fast::FixedState,
}

impl Groups {
    fn new(width: usize) -> Self {
        Groups {
            width,
            ..Groups::default()
        }
    }

    fn len(&self) -> usize {
        self.accs.len()
    }

    /// The key of group `g`.
    fn key(&self, g: usize) -> &[u32] {
        &self.keys[g * self.width..][..self.width]
    }

    /// The running total of the group keyed `key` (of `width` ids), added if new.
    fn acc(&mut self, key: &[u32]) -> &mut Acc {
        let g = match key {
            [id] if *id != NONE => {
                let at = *id as usize;
                if self.by_id.len() <= at {
                    self.by_id.resize(at + 1, 0);
                }
                match self.by_id[at] {
                    0 => {
                        let g = self.push(key);
                        self.by_id[at] = g as u32 + 1;
                        g
                    }
                    n => n as usize - 1,
                }
            }
            _ => {
                let hash = self.hasher.hash_one(key);
                let (keys, width) = (&self.keys, self.width);
                match self
                    .table
                    .find(hash, |&g| &keys[g as usize * width..][..width] == key)
                {
                    Some(&g) => g as usize,
                    None => {
                        let g = self.push(key);
                        let Groups {
                            keys,
                            table,
                            hasher,
                            ..
                        } = self;
                        table.insert_unique(hash, g as u32, |&g| {
                            hasher.hash_one(&keys[g as usize * width..][..width])
                        });
                        g
                    }
                }
            }
        };
        &mut self.accs[g]
    }

    fn push(&mut self, key: &[u32]) -> usize {
        self.keys.extend_from_slice(key);
        self.accs.push(Acc {
            total: Some(Decimal::from(0)),
            lines: 0,
        });
        self.accs.len() - 1
    }
}

/// A string's length and last eight bytes in one number: two IRIs of a release mostly differ
/// in their last bytes (the row's id comes last), so most comparisons of different ones end
/// here, without reading their long shared beginnings.
fn fingerprint(s: &str) -> u64 {
    let b = s.as_bytes();
    let tail = match b
        .len()
        .checked_sub(8)
        .map(|from| <[u8; 8]>::try_from(&b[from..]))
    {
        Some(Ok(last)) => u64::from_le_bytes(last),
        _ => b.iter().fold(0, |t, &c| t << 8 | u64::from(c)),
    };
    tail ^ (b.len() as u64).rotate_right(16)
}

/// A subject's [`fingerprint`], blank nodes told from IRIs.
fn subject_print(s: NamedOrBlankNodeRef<'_>) -> u64 {
    match s {
        NamedOrBlankNodeRef::NamedNode(n) => fingerprint(n.as_str()),
        NamedOrBlankNodeRef::BlankNode(b) => fingerprint(b.as_str()) ^ (1 << 63),
    }
}

/// The terms groups are keyed by, each stored once.
#[derive(Default)]
struct Interner {
    ids: HashMap<Box<str>, u32>,
    terms: Vec<Term>,
    /// A term's N-Triples form, written again for each term that is not an IRI.
    text: String,
}

impl Interner {
    /// IRIs are looked up as they are, other terms by their N-Triples form (which no IRI
    /// can be confused with). Says whether the term is new.
    fn id(&mut self, term: TermRef<'_>) -> (u32, bool) {
        let key = match term {
            TermRef::NamedNode(n) => n.as_str(),
            other => {
                use std::fmt::Write;
                self.text.clear();
                // Writing to a String cannot fail.
                let _ = write!(self.text, "{other}");
                self.text.as_str()
            }
        };
        if let Some(&id) = self.ids.get(key) {
            return (id, false);
        }
        let id = self.terms.len() as u32;
        self.ids.insert(key.into(), id);
        self.terms.push(term.into_owned());
        (id, true)
    }
}

/// Computes [`SummarySpec`]s from the quads of one release, one at a time.
pub struct Summarizer {
    specs: Vec<SummarySpec>,
    /// The properties read (a few): IRI, its slot, whether it is grouped by and summed.
    properties: Vec<(String, bool, bool)>,
    /// Each property read, as its IRI's [`fingerprint`], its IRI and its slot: most quads'
    /// predicates are none of them, and are told so by comparing a number with a few, without
    /// hashing or reading the predicate's text.
    slots: Vec<(u64, Box<str>, usize)>,
    /// For each spec: the measure's slot, each dimension's slot and whether it is optional.
    plans: Vec<(usize, Vec<(usize, bool)>)>,
    /// The name properties some summary copies; for each property slot, its index there.
    names: Vec<String>,
    name_of: Vec<Option<usize>>,
    /// For each spec, the names it copies (indexes into `names`).
    spec_names: Vec<Vec<usize>>,
    /// The names of grouped-by values, by their id: (name property, literal), each once.
    named: HashMap<u32, Vec<(usize, Literal)>>,
    /// The last names of subjects not grouped by (yet).
    recent: VecDeque<(NamedNode, usize, Literal)>,
    open: VecDeque<Open>,
    spare: Vec<Open>,
    terms: Interner,
    /// For each property slot, the id of the value it was last seen with ([`NONE`]: none).
    last_ids: Vec<u32>,
    groups: Vec<Groups>,
    /// Scratch for a key and the odometer over a subject's combinations of values.
    key: Vec<u32>,
    at: Vec<usize>,
}

impl Summarizer {
    pub fn new(specs: &[SummarySpec]) -> Self {
        let mut properties: Vec<(String, bool, bool)> = Vec::new();
        let mut slot = |iri: &str, dimension: bool| {
            let k = match properties.iter().position(|(p, _, _)| p == iri) {
                Some(k) => k,
                None => {
                    properties.push((iri.to_string(), false, false));
                    properties.len() - 1
                }
            };
            if dimension {
                properties[k].1 = true;
            } else {
                properties[k].2 = true;
            }
            k
        };
        let plans = specs
            .iter()
            .map(|s| {
                let m = slot(&s.measure, false);
                let dims = s
                    .dimensions
                    .iter()
                    .map(|d| (slot(d, true), s.optional.contains(d)))
                    .collect();
                (m, dims)
            })
            .collect();
        let mut names: Vec<String> = Vec::new();
        let spec_names = specs
            .iter()
            .map(|s| {
                s.labels
                    .iter()
                    .map(|l| match names.iter().position(|n| n == l) {
                        Some(k) => k,
                        None => {
                            names.push(l.clone());
                            names.len() - 1
                        }
                    })
                    .collect()
            })
            .collect();
        for n in &names {
            if !properties.iter().any(|(p, _, _)| p == n) {
                properties.push((n.clone(), false, false));
            }
        }
        let name_of = properties
            .iter()
            .map(|(p, _, _)| names.iter().position(|n| n == p))
            .collect();
        Summarizer {
            slots: properties
                .iter()
                .enumerate()
                .map(|(k, (p, _, _))| (fingerprint(p), p.as_str().into(), k))
                .collect(),
            groups: specs
                .iter()
                .map(|s| Groups::new(s.dimensions.len()))
                .collect(),
            last_ids: vec![NONE; properties.len()],
            specs: specs.to_vec(),
            properties,
            plans,
            names,
            name_of,
            spec_names,
            named: HashMap::new(),
            recent: VecDeque::new(),
            open: VecDeque::new(),
            spare: Vec::new(),
            terms: Interner::default(),
            key: Vec::new(),
            at: Vec::new(),
        }
    }

    /// Whether there is anything to compute.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// Reads one quad (its graph is not looked at).
    pub fn add(&mut self, quad: QuadRef<'_>) {
        let predicate = quad.predicate.as_str();
        let print = fingerprint(predicate);
        let Some(&(_, _, slot)) = self
            .slots
            .iter()
            .find(|(p, iri, _)| *p == print && **iri == *predicate)
        else {
            return;
        };
        let (_, grouped, summed) = self.properties[slot];
        let subject = quad.subject;
        if let (Some(name), NamedOrBlankNodeRef::NamedNode(s), TermRef::Literal(l)) =
            (self.name_of[slot], subject, quad.object)
        {
            match self.terms.ids.get(s.as_str()) {
                Some(&id) => add_name(&mut self.named, id, name, l),
                None => {
                    if self.recent.len() == NAMES_WINDOW {
                        self.recent.pop_front();
                    }
                    self.recent
                        .push_back((s.into_owned(), name, l.into_owned()));
                }
            }
        }
        if !grouped && !summed {
            return;
        }
        let print = subject_print(subject);
        let at = match self.open.iter().rposition(|o| {
            o.print == print && o.subject.as_ref().is_some_and(|s| s.as_ref() == subject)
        }) {
            Some(at) => at,
            None => {
                if self.open.len() == WINDOW {
                    if let Some(mut done) = self.open.pop_front() {
                        self.count(&done);
                        done.clear();
                        self.spare.push(done);
                    }
                }
                let mut open = self.spare.pop().unwrap_or_else(|| Open {
                    subject: None,
                    print: 0,
                    ids: vec![Vec::new(); self.properties.len()],
                    numbers: vec![Vec::new(); self.properties.len()],
                });
                open.subject = Some(subject.into_owned());
                open.print = print;
                self.open.push_back(open);
                self.open.len() - 1
            }
        };
        let open = &mut self.open[at];
        // A graph holds a statement once.
        if grouped {
            // A property often has the same value as on the line before (the council paying).
            let (id, new) = match self.last_ids[slot] {
                last if self.terms.terms.get(last as usize).map(Term::as_ref)
                    == Some(quad.object) =>
                {
                    (last, false)
                }
                _ => self.terms.id(quad.object),
            };
            self.last_ids[slot] = id;
            if !open.ids[slot].contains(&id) {
                open.ids[slot].push(id);
            }
            // A member's names stated just before its first line.
            if let (true, TermRef::NamedNode(n)) = (new, quad.object) {
                let named = &mut self.named;
                self.recent.retain(|(s, name, l)| {
                    let mine = s.as_ref() == n;
                    if mine {
                        add_name(named, id, *name, l.as_ref());
                    }
                    !mine
                });
            }
        }
        if summed
            && !open.numbers[slot]
                .iter()
                .any(|(t, _)| t.as_ref() == quad.object)
        {
            let term = quad.object.into_owned();
            let n = number(&term);
            open.numbers[slot].push((term, n));
        }
    }

    /// Adds one subject's lines to every summary: one line for each combination of its
    /// measure's and dimensions' values (as a SPARQL join would give).
    fn count(&mut self, open: &Open) {
        const ABSENT: &[u32] = &[NONE];
        let Summarizer {
            plans,
            groups,
            key,
            at,
            ..
        } = self;
        for ((measure, dims), groups) in plans.iter().zip(groups.iter_mut()) {
            let measures = &open.numbers[*measure];
            if measures.is_empty()
                || dims
                    .iter()
                    .any(|&(slot, optional)| !optional && open.ids[slot].is_empty())
            {
                continue;
            }
            let list = |d: usize| match open.ids[dims[d].0].as_slice() {
                [] => ABSENT,
                ids => ids,
            };
            // Every combination, the last dimension turning fastest.
            at.clear();
            at.resize(dims.len(), 0);
            loop {
                key.clear();
                key.extend(at.iter().enumerate().map(|(d, &i)| list(d)[i]));
                let acc = groups.acc(key);
                for (_, n) in measures {
                    acc.lines += 1;
                    acc.total = acc.total.zip(*n).and_then(|(t, v)| t.checked_add(v));
                }
                let mut d = dims.len();
                loop {
                    if d == 0 {
                        break;
                    }
                    d -= 1;
                    at[d] += 1;
                    if at[d] < list(d).len() {
                        break;
                    }
                    at[d] = 0;
                }
                if at.iter().all(|&i| i == 0) {
                    break;
                }
            }
        }
    }

    /// Counts the subjects still open and returns the summaries as quads in `graph`, derived
    /// from `release` (the release's graph); `own_terms` is fivestar's vocabulary document
    /// (its terms are `{own_terms}#{term}`).
    pub fn finish(
        mut self,
        graph: NamedNodeRef<'_>,
        release: NamedNodeRef<'_>,
        own_terms: &str,
    ) -> Vec<Quad> {
        for open in std::mem::take(&mut self.open) {
            self.count(&open);
        }
        let terms = std::mem::take(&mut self.terms).terms;
        let term = |id: u32| terms.get(id as usize);
        let fs = format!("{own_terms}#");
        let total = NamedNode::new_unchecked(format!("{fs}total"));
        let lines = NamedNode::new_unchecked(format!("{fs}lines"));
        let summarises = NamedNode::new_unchecked(format!("{fs}summarises"));
        let qb = |local: &str| NamedNode::new_unchecked(format!("{QB}{local}"));
        let g = GraphNameRef::NamedNode(graph);
        let mut out = Vec::new();
        let mut add = |s: &NamedNode, p: NamedNodeRef<'_>, o: TermRef<'_>| {
            out.push(QuadRef::new(s, p, o, g).into_owned());
        };
        // The members whose names are copied, and which names.
        let mut wanted: HashMap<u32, Vec<usize>> = HashMap::new();
        for ((spec, groups), names) in self
            .specs
            .iter()
            .zip(std::mem::take(&mut self.groups))
            .zip(&self.spec_names)
        {
            let hash = |local: &str| {
                NamedNode::new_unchecked(format!("{graph}#{local}", graph = graph.as_str()))
            };
            let data_set = hash(&spec.id);
            let structure = hash(&format!("{}-structure", spec.id));
            add(&data_set, rdf::TYPE, qb("DataSet").as_ref().into());
            let title = Literal::new_language_tagged_literal_unchecked(&spec.title, "en");
            add(&data_set, rdfs::LABEL, title.as_ref().into());
            add(
                &data_set,
                qb("structure").as_ref(),
                structure.as_ref().into(),
            );
            add(
                &data_set,
                NamedNodeRef::new_unchecked(PROV_DERIVED),
                release.into(),
            );
            let measure = NamedNode::new_unchecked(&spec.measure);
            add(&data_set, summarises.as_ref(), measure.as_ref().into());
            add(
                &structure,
                rdf::TYPE,
                qb("DataStructureDefinition").as_ref().into(),
            );
            let components = spec
                .dimensions
                .iter()
                .map(|d| ("dimension", NamedNode::new_unchecked(d)))
                .chain([("measure", total.clone()), ("measure", lines.clone())]);
            for (n, (role, property)) in components.enumerate() {
                let component = hash(&format!("{}-structure-{}", spec.id, n + 1));
                add(
                    &structure,
                    qb("component").as_ref(),
                    component.as_ref().into(),
                );
                add(&component, qb(role).as_ref(), property.as_ref().into());
                let order = Literal::from(n as i64 + 1);
                add(&component, qb("order").as_ref(), order.as_ref().into());
            }
            // In the order of their keys, so that the same release gives the same graph.
            let mut order: Vec<(Vec<String>, usize)> = (0..groups.len())
                .map(|g| {
                    let text = groups
                        .key(g)
                        .iter()
                        .map(|&id| term(id).map(Term::to_string).unwrap_or_default())
                        .collect();
                    (text, g)
                })
                .collect();
            order.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for (n, (_, g)) in order.into_iter().enumerate() {
                let (key, acc) = (groups.key(g), &groups.accs[g]);
                if !names.is_empty() {
                    for &id in key.iter().filter(|&&id| id != NONE) {
                        let w = wanted.entry(id).or_default();
                        for k in names {
                            if !w.contains(k) {
                                w.push(*k);
                            }
                        }
                    }
                }
                let obs = hash(&format!("{}-{}", spec.id, n + 1));
                add(&obs, rdf::TYPE, qb("Observation").as_ref().into());
                add(&obs, qb("dataSet").as_ref(), data_set.as_ref().into());
                for (d, &id) in spec.dimensions.iter().zip(key.iter()) {
                    if let Some(v) = term(id) {
                        add(&obs, NamedNodeRef::new_unchecked(d), v.as_ref());
                    }
                }
                if let Some(t) = acc.total {
                    let t = Literal::new_typed_literal(t.to_string(), xsd::DECIMAL);
                    add(&obs, total.as_ref(), t.as_ref().into());
                }
                let n = Literal::from(acc.lines as i64);
                add(&obs, lines.as_ref(), n.as_ref().into());
            }
        }
        // Their names, in the order of the members' IRIs and then as they came.
        // A member, the names wanted of it, and those it has.
        type Member<'a> = (&'a NamedNode, &'a Vec<usize>, &'a Vec<(usize, Literal)>);
        let mut members: Vec<Member<'_>> = wanted
            .iter()
            .filter_map(|(id, w)| match (term(*id), self.named.get(id)) {
                (Some(Term::NamedNode(n)), Some(named)) => Some((n, w, named)),
                _ => None,
            })
            .collect();
        members.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let names: Vec<NamedNode> = self
            .names
            .iter()
            .map(|n| NamedNode::new_unchecked(n.as_str()))
            .collect();
        for (member, w, named) in members {
            for (k, l) in named.iter().filter(|(k, _)| w.contains(k)) {
                add(member, names[*k].as_ref(), l.as_ref().into());
            }
        }
        out
    }
}

/// Keeps `name` (a literal of the name property `k`) for the member `id`, once.
fn add_name(
    named: &mut HashMap<u32, Vec<(usize, Literal)>>,
    id: u32,
    k: usize,
    name: LiteralRef<'_>,
) {
    let names = named.entry(id).or_default();
    if !names.iter().any(|(j, l)| *j == k && l.as_ref() == name) {
        names.push((k, name.into_owned()));
    }
}

/// The value of a numeric literal that fits a decimal (SPARQL sums integers and decimals
/// alike); `None` for anything else.
fn number(term: &Term) -> Option<Decimal> {
    let Term::Literal(l) = term else {
        return None;
    };
    let numeric = l.datatype() == xsd::DECIMAL
        || l.datatype() == xsd::INTEGER
        || INTEGER_TYPES.contains(&l.datatype().as_str());
    numeric
        .then(|| Decimal::from_str(l.value().trim()).ok())
        .flatten()
}

/// XSD's types derived from xsd:integer, which SPARQL adds as integers.
const INTEGER_TYPES: [&str; 12] = [
    "http://www.w3.org/2001/XMLSchema#long",
    "http://www.w3.org/2001/XMLSchema#int",
    "http://www.w3.org/2001/XMLSchema#short",
    "http://www.w3.org/2001/XMLSchema#byte",
    "http://www.w3.org/2001/XMLSchema#nonNegativeInteger",
    "http://www.w3.org/2001/XMLSchema#nonPositiveInteger",
    "http://www.w3.org/2001/XMLSchema#negativeInteger",
    "http://www.w3.org/2001/XMLSchema#positiveInteger",
    "http://www.w3.org/2001/XMLSchema#unsignedLong",
    "http://www.w3.org/2001/XMLSchema#unsignedInt",
    "http://www.w3.org/2001/XMLSchema#unsignedShort",
    "http://www.w3.org/2001/XMLSchema#unsignedByte",
];

#[cfg(test)]
mod tests {
    use super::*;
    use oxigraph::io::{RdfFormat, RdfParser};
    use oxigraph::sparql::{QueryResults, SparqlEvaluator};

    const EX: &str = "http://example.org/";

    fn spec(id: &str, dims: &[&str], optional: &[&str]) -> SummarySpec {
        SummarySpec {
            id: id.into(),
            title: id.into(),
            measure: format!("{EX}amount"),
            dimensions: dims.iter().map(|d| format!("{EX}{d}")).collect(),
            optional: optional.iter().map(|d| format!("{EX}{d}")).collect(),
            labels: Vec::new(),
        }
    }

    /// Lines as csv2rdf writes them, with the awkward cases: a line paying two payees, a line
    /// with two amounts, lines without a payer or a month, an amount that is not a number
    /// (its payee's total is then unbound), integers beside decimals, a statement repeated,
    /// and another subject's statements in the middle of a line's.
    const LINES: &str = r#"
@prefix : <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
:l1 :amount "100.50"^^xsd:decimal ; :payee :acme ; :payer :leeds ; :month :m1 .
:acme a :Organization .
:l1 :label "line one" .
:l2 :amount "20"^^xsd:integer ; :payee :acme ; :month :m1 .
:l3 :amount "7.25"^^xsd:decimal , "2.75"^^xsd:decimal ; :payee :bolt ; :payer :leeds ; :month :m2 .
:l4 :amount "5"^^xsd:decimal ; :payee :acme , :bolt ; :payer :york ; :month :m2 .
:l5 :amount "n/a" ; :payee :crane ; :payer :york .
:l6 :amount "-3.10"^^xsd:decimal ; :payee :crane ; :payer :york ; :month :m1 .
:l7 :payee :acme ; :month :m2 .
:l8 :amount "1.00"^^xsd:decimal ; :amount "1.00"^^xsd:decimal ; :payee :drum .
"#;

    fn sparql(store: &oxigraph::store::Store, s: &SummarySpec) -> Vec<Vec<String>> {
        let mut pattern = format!("?s <{}> ?m .", s.measure);
        let mut vars = String::new();
        for (i, d) in s.dimensions.iter().enumerate() {
            let t = format!("?s <{d}> ?d{i} .");
            if s.optional.contains(d) {
                pattern.push_str(&format!(" OPTIONAL {{ {t} }}"));
            } else {
                pattern.push_str(&t);
            }
            vars.push_str(&format!(" ?d{i}"));
        }
        let group = if vars.is_empty() {
            String::new()
        } else {
            format!("GROUP BY{vars}")
        };
        let q = format!(
            "SELECT{vars} (SUM(?m) AS ?total) (COUNT(*) AS ?lines) WHERE {{ GRAPH ?g {{ {pattern} }} }} {group}"
        );
        rows(store, &q, s.dimensions.len())
    }

    /// A SELECT's rows as `?d0`… then `?total` and `?lines` (literals by their value), sorted.
    fn rows(store: &oxigraph::store::Store, q: &str, dims: usize) -> Vec<Vec<String>> {
        let QueryResults::Solutions(rows) = SparqlEvaluator::new()
            .parse_query(q)
            .unwrap()
            .on_store(store)
            .execute()
            .unwrap()
        else {
            panic!("not a SELECT")
        };
        let mut out: Vec<Vec<String>> = rows
            .map(|r| {
                let r = r.unwrap();
                let mut row: Vec<String> = (0..dims)
                    .map(|i| {
                        r.get(format!("d{i}").as_str())
                            .map(|t| t.to_string())
                            .unwrap_or_default()
                    })
                    .collect();
                for v in ["total", "lines"] {
                    row.push(match r.get(v) {
                        Some(Term::Literal(l)) => l.value().to_string(),
                        Some(t) => t.to_string(),
                        None => String::new(),
                    });
                }
                row
            })
            .collect();
        out.sort();
        out
    }

    fn summarised(quads: &[Quad], s: &SummarySpec, graph: &str) -> Vec<Vec<String>> {
        let store = oxigraph::store::Store::new().unwrap();
        store.extend(quads.iter().cloned()).unwrap();
        let dims: String = (0..s.dimensions.len()).map(|i| format!(" ?d{i}")).collect();
        let optional: String = s
            .dimensions
            .iter()
            .enumerate()
            .map(|(i, d)| format!("OPTIONAL {{ ?o <{d}> ?d{i} }} "))
            .collect();
        let q = format!(
            "SELECT{dims} ?total ?lines WHERE {{ GRAPH <{graph}> {{ ?o <{QB}dataSet> <{graph}#{id}> ; <{EX}def/fivestar#lines> ?lines . OPTIONAL {{ ?o <{EX}def/fivestar#total> ?total }} {optional} }} }}",
            id = s.id
        );
        rows(&store, &q, s.dimensions.len())
    }

    /// The summaries of the Turtle `lines` (in the release `{EX}graph/d/r1`), and their graph.
    fn summarise(specs: &[SummarySpec], lines: &str) -> (Vec<Quad>, NamedNode) {
        let release = NamedNode::new_unchecked(format!("{EX}graph/d/r1"));
        let mut summarizer = Summarizer::new(specs);
        for q in RdfParser::from_format(RdfFormat::Turtle)
            .with_default_graph(release.as_ref())
            .for_slice(lines.as_bytes())
        {
            summarizer.add(q.unwrap().as_ref());
        }
        let graph = NamedNode::new_unchecked(format!("{EX}graph/d/r1/summary"));
        let quads = summarizer.finish(
            graph.as_ref(),
            release.as_ref(),
            &format!("{EX}def/fivestar"),
        );
        (quads, graph)
    }

    #[test]
    fn a_summary_copies_its_members_names_stated_after_or_shortly_before_their_lines() {
        let mut text = String::from(
            "@prefix : <http://example.org/> .\n@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n",
        );
        // Far before its first line: more than the window of other names comes between.
        text.push_str(":far :name \"Far Ltd\" .\n");
        for i in 0..NAMES_WINDOW {
            text.push_str(&format!(":line{i} :name \"line {i}\" .\n"));
        }
        // Just before its line (as csv2rdf writes a row), after it, twice, in another
        // property; a name that is not a literal; a member of a summary that copies none.
        text.push_str(
            r#":acme :name "Acme Ltd" ; :pref "Acme" .
:l1 :amount "1"^^xsd:integer ; :payee :acme ; :payer :leeds ; :name "line one" .
:l2 :amount "2"^^xsd:integer ; :payee :bolt ; :payer :leeds .
:bolt :name "Bolt plc" , "Bolt"@en ; :pref :notALiteral .
:acme :name "Acme Ltd" .
:l3 :amount "3"^^xsd:integer ; :payee :far .
:leeds :name "Leeds" .
"#,
        );
        let mut by_payee = spec("payees", &["payee"], &[]);
        by_payee.labels = vec![format!("{EX}name"), format!("{EX}pref")];
        let by_payer = spec("payers", &["payer"], &[]);
        let (quads, graph) = summarise(&[by_payee, by_payer], &text);
        let names: Vec<String> = quads
            .iter()
            .filter(|q| {
                q.predicate.as_str().ends_with("name") || q.predicate.as_str().ends_with("pref")
            })
            .map(|q| format!("{} {} {}", q.subject, q.predicate, q.object))
            .collect();
        assert_eq!(
            names,
            [
                "<http://example.org/acme> <http://example.org/name> \"Acme Ltd\"",
                "<http://example.org/acme> <http://example.org/pref> \"Acme\"",
                "<http://example.org/bolt> <http://example.org/name> \"Bolt plc\"",
                "<http://example.org/bolt> <http://example.org/name> \"Bolt\"@en",
            ]
        );
        assert!(quads.iter().all(|q| q.graph_name == graph.as_ref().into()));
    }

    #[test]
    fn groups_find_each_key_again_however_they_are_kept() {
        // Keys of no id, of one id (by id, or NONE by the table) and of three ids, enough of
        // them for the table to grow several times; each key's lines counted once per time
        // it was asked for, as a map of keys counts them.
        for width in [0, 1, 3] {
            let mut groups = Groups::new(width);
            let mut expected: std::collections::HashMap<Vec<u32>, u64> = Default::default();
            for round in 0..3u32 {
                for n in 0..5_000u32 {
                    let key: Vec<u32> = (0..width as u32)
                        .map(|d| match (n + d) % 7 {
                            0 => NONE,
                            _ => (n * 31 + d * 7 + round % 2) % 4_001,
                        })
                        .collect();
                    groups.acc(&key).lines += 1;
                    *expected.entry(key).or_default() += 1;
                }
            }
            assert_eq!(groups.len(), expected.len(), "width {width}");
            for g in 0..groups.len() {
                assert_eq!(
                    Some(&groups.accs[g].lines),
                    expected.get(groups.key(g)),
                    "width {width}, group {g}"
                );
            }
        }
    }

    #[test]
    fn fingerprints_tell_apart_what_they_are_meant_to() {
        // Lengths under, at and over eight bytes; the same tail at two lengths; a blank node
        // and an IRI of the same text.
        let texts = [
            "",
            "a",
            "ab",
            "abcdefg",
            "abcdefgh",
            "xabcdefgh",
            "http://e.org/1",
        ];
        for (i, a) in texts.iter().enumerate() {
            for b in &texts[i + 1..] {
                assert_ne!(fingerprint(a), fingerprint(b), "{a:?} {b:?}");
            }
        }
        let iri = NamedNode::new_unchecked("b1");
        let blank = oxigraph::model::BlankNode::new_unchecked("b1");
        assert_ne!(
            subject_print(iri.as_ref().into()),
            subject_print(blank.as_ref().into())
        );
    }

    #[test]
    fn summaries_equal_the_sparql_aggregates_they_stand_for() {
        let specs = [
            spec("payees", &["payee"], &[]),
            spec("months", &["month"], &[]),
            spec(
                "payee-payer-month",
                &["payee", "payer", "month"],
                &["payer", "month"],
            ),
            spec("everything", &[], &[]),
            // One dimension that a line may lack: its groups are found by id, and the lines
            // without it by the table.
            spec("payers", &["payer"], &["payer"]),
        ];
        let release = NamedNode::new_unchecked(format!("{EX}graph/d/r1"));
        let store = oxigraph::store::Store::new().unwrap();
        let mut summarizer = Summarizer::new(&specs);
        for q in RdfParser::from_format(RdfFormat::Turtle)
            .with_default_graph(release.as_ref())
            .for_slice(LINES.as_bytes())
        {
            let q = q.unwrap();
            summarizer.add(q.as_ref());
            store.insert(&q).unwrap();
        }
        let graph = NamedNode::new_unchecked(format!("{EX}graph/d/r1/summary"));
        let quads = summarizer.finish(
            graph.as_ref(),
            release.as_ref(),
            &format!("{EX}def/fivestar"),
        );
        for s in &specs {
            let expected = sparql(&store, s);
            assert!(!expected.is_empty(), "{}", s.id);
            assert_eq!(summarised(&quads, s, graph.as_str()), expected, "{}", s.id);
        }
        // The figures the test was written for, spelt out: acme's total counts l4 once for
        // each payee it names; crane's is unbound (one of its amounts is not a number).
        let payees = sparql(&store, &specs[0]);
        assert!(
            payees.contains(&vec![
                "<http://example.org/acme>".into(),
                "125.5".into(),
                "3".into()
            ]),
            "{payees:?}"
        );
        assert!(
            payees.contains(&vec![
                "<http://example.org/crane>".into(),
                String::new(),
                "2".into()
            ]),
            "{payees:?}"
        );
        assert!(
            payees.contains(&vec![
                "<http://example.org/drum>".into(),
                "1".into(),
                "1".into()
            ]),
            "{payees:?}"
        );
    }

    #[test]
    fn a_summary_is_a_well_formed_data_cube() {
        let specs = [spec("payees", &["payee"], &[])];
        let (quads, _) = summarise(&specs, LINES);
        let store = oxigraph::store::Store::new().unwrap();
        store.extend(quads).unwrap();
        let ask = |q: &str| {
            let q = format!("PREFIX qb: <{QB}> ASK {{ GRAPH ?g {{ {q} }} }}");
            matches!(
                SparqlEvaluator::new()
                    .parse_query(&q)
                    .unwrap()
                    .on_store(&store)
                    .execute()
                    .unwrap(),
                QueryResults::Boolean(true)
            )
        };
        // IC-1: every observation has exactly one data set; IC-2: the data set one structure.
        assert!(!ask(
            "?o a qb:Observation . FILTER NOT EXISTS { ?o qb:dataSet ?d }"
        ));
        assert!(!ask("?o qb:dataSet ?a, ?b . FILTER (?a != ?b)"));
        assert!(!ask(
            "?d a qb:DataSet . FILTER NOT EXISTS { ?d qb:structure ?s }"
        ));
        // IC-12 for required dimensions: no two observations share every dimension value.
        assert!(!ask("?a qb:dataSet ?d ; <http://example.org/payee> ?p . ?b qb:dataSet ?d ; <http://example.org/payee> ?p . FILTER (?a != ?b)"));
        // IC-11/14: every observation has every (required) dimension and a value for a measure.
        assert!(!ask("?o qb:dataSet ?d . ?d qb:structure/qb:component/qb:dimension ?dim . FILTER NOT EXISTS { ?o ?dim ?v }"));
        assert!(ask(
            "?o qb:dataSet ?d . ?d qb:structure/qb:component/qb:measure ?m . ?o ?m ?v"
        ));
        assert!(ask(
            "?d <http://www.w3.org/ns/prov#wasDerivedFrom> <http://example.org/graph/d/r1>"
        ));
    }
}
