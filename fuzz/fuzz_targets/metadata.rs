//! Fuzzes the metadata parser and everything after it: the input is a metadata document,
//! then a NUL byte, then the CSV it describes (`a.csv`). Any panic is a bug.
#![no_main]

use csvw::fetch::{Fetcher, Resource};
use libfuzzer_sys::fuzz_target;
use url::Url;

struct Two<'a> {
    metadata: &'a [u8],
    csv: &'a [u8],
}

impl Fetcher for Two<'_> {
    fn fetch(&self, url: &Url) -> Result<Option<Resource>, String> {
        Ok(match url.path() {
            "/m.json" => Some(Resource::from_bytes(self.metadata.to_vec())),
            "/a.csv" => Some(Resource::from_bytes(self.csv.to_vec())),
            _ => None,
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let web = Two {
        metadata: &data[..split],
        csv: data.get(split + 1..).unwrap_or(b"a,b\n1,2\n"),
    };
    let url = Url::parse("http://example.org/m.json").unwrap();
    let mut triples = Vec::new();
    let _ = csvw::to_rdf(&url, &web, csvw::Options::default(), false, &mut triples);
    let _ = csvw::to_json(&url, &web, csvw::Options::default(), false, false, std::io::sink());
    let _ = csvw::validate(&url, &web, csvw::Options::default());
});
