//! End-to-end tests of the pages people read: the real `fivestar run` publishing a generated
//! spend file into a real store, `fivestar serve` on loopback, pages fetched over HTTP.

mod common;

use common::Scratch;

/// A Leeds spend file of `n` payments to one supplier, spelt two ways (three in five rows
/// "Acme Paper Ltd", the rest "ACME PAPER LIMITED"), amounts 1.00, 2.00, …
fn acme_file(n: usize) -> String {
    let mut out = String::from(
        "Organisation Name,Payment Date,Transaction Ref,Amount,Beneficiary Name,Service Area\n",
    );
    for i in 1..=n {
        let name = if i % 5 < 3 {
            "Acme Paper Ltd"
        } else {
            "ACME PAPER LIMITED"
        };
        let day = 1 + i % 28;
        out.push_str(&format!(
            "Leeds City Council,{day:02}/01/2024,ACME-{i},{i}.00,{name},Finance\n"
        ));
    }
    out
}

/// `n` payments to Acme published as dataset `acme` by the real `fivestar run`, and served.
fn acme_site(name: &str, n: usize) -> (Scratch, common::Running) {
    let s = Scratch::new("pages", name);
    std::fs::write(s.0.join("spend.csv"), acme_file(n)).unwrap();
    std::fs::write(
        s.0.join("pipelines/acme.toml"),
        format!(
            "id = \"acme\"\ntitle = \"Acme spending\"\ntemplate = \"spend\"\n[source]\nurl = {:?}\n",
            s.0.join("spend.csv").display().to_string()
        ),
    )
    .unwrap();
    let o = s.run(&["run", "pipelines/acme.toml"]);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let site = s.serve();
    (s, site)
}

#[test]
fn a_supplier_with_ten_thousand_payments_has_a_name_and_pages_them() {
    let (_s, site) = acme_site("acme", 10_000);
    let client = common::client();
    let get = |path: &str| {
        let started = std::time::Instant::now();
        let resp = client.get(format!("{}{path}", site.url)).send().unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().unwrap();
        if !path.contains("page=") || path.ends_with("=200") {
            eprintln!("GET {path}: {status} in {:?}", started.elapsed());
        }
        (status, body)
    };
    let supplier = "/doc/acme/supplier/acme-paper";

    // The supplier: one preferred name (the spelling most rows use), the other kept.
    let (status, page) = get(supplier);
    assert_eq!(status, 200);
    assert!(page.contains("<h1>Acme Paper Ltd</h1>"), "{page}");
    assert!(
        page.contains("ACME PAPER LIMITED"),
        "the other spelling is kept"
    );
    // What it was paid: the total is 1 + 2 + … + 10,000 pounds, computed here; no council
    // column and no publisher, so the council is "not given".
    let total: u64 = (1..=10_000).sum();
    assert!(
        page.contains(&format!(
            "10,000 payments, £{},{:03},{:03}.00 in all.",
            total / 1_000_000,
            total / 1000 % 1000,
            total % 1000
        )),
        "{page}"
    );
    assert!(page.contains(
        "<h2>Largest payments</h2><ol><li><a class=\"iri\" href=\"/doc/acme/payment/ACME-10000/"
    ));
    // What points at it: counted and paged, newest first.
    assert!(
        page.contains("10,000 statements point at it (its payments, newest first, and anything else that names it): page 1 of 200."),
        "{page}"
    );
    let incoming = &page[page.find("id=\"incoming\"").unwrap()..];
    // As a table of payments: date, council, amount, service.
    assert_eq!(
        incoming.matches("<tr><td>28 January 2024</td>").count(),
        50,
        "{incoming}"
    );
    assert_eq!(
        incoming.matches("<td class=\"num\">£").count(),
        50,
        "{incoming}"
    );
    assert_eq!(
        incoming.matches("<td>Finance</td>").count(),
        50,
        "{incoming}"
    );
    assert_eq!(
        incoming.matches(" to Acme Paper Ltd, ").count()
            + incoming.matches(" to ACME PAPER LIMITED, ").count(),
        50
    );
    assert!(incoming.contains("28 January 2024"), "newest first");
    assert!(
        !incoming.contains(", 1 January 2024<"),
        "the oldest are on later pages"
    );
    assert!(page.contains("href=\"?page=2#incoming\""));
    let (status, last) = get(&format!("{supplier}?page=200"));
    assert_eq!(status, 200);
    assert!(last.contains("page 200 of 200."), "{last}");
    assert!(last.contains(", 1 January 2024<"), "{last}");
    // Every payment is on exactly one page (rows of the same date too: the store's sort is
    // stable).
    let links = |page: &str| -> Vec<String> {
        let page = &page[page.find("id=\"incoming\"").unwrap()..];
        page.match_indices("href=\"/doc/acme/payment/")
            .map(|(at, _)| page[at..].split('"').nth(1).unwrap().to_string())
            .collect()
    };
    let seen: Vec<String> = std::thread::scope(|scope| {
        let parts: Vec<_> = (0..2)
            .map(|part| {
                let get = &get;
                let links = &links;
                scope.spawn(move || {
                    (1..=200)
                        .filter(|n| n % 2 == part)
                        .flat_map(|n| links(&get(&format!("{supplier}?page={n}")).1))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts.into_iter().flat_map(|p| p.join().unwrap()).collect()
    });
    let distinct: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 10_000);
    assert_eq!(distinct.len(), 10_000, "a payment shown on two pages");
    // A page past the end shows the last.
    let (_, past) = get(&format!("{supplier}?page=9999"));
    assert!(past.contains("page 200 of 200"));

    // A payment: titled, not by its IRI; money as money; a link and its literal twin on one
    // row (the date, linked to its day); the machine value kept beside the readable one.
    let (status, page) = get("/doc/acme/payment/ACME-1234/2024-01-03");
    assert_eq!(status, 200);
    assert!(
        page.contains("<h1>£1,234.00 to ACME PAPER LIMITED, 3 January 2024</h1>"),
        "{page}"
    );
    assert!(page.contains("<data value=\"1234"), "{page}");
    // Statements in the template's order: the type, then the payer, the date, the amount.
    let at = |p: &str| page.find(&format!("href=\"{p}\"")).unwrap_or(usize::MAX);
    let rdf_type = at("http://www.w3.org/1999/02/22-rdf-syntax-ns#type");
    let date = at("http://reference.data.gov.uk/def/payment#date");
    let amount = at("http://reference.data.gov.uk/def/payment#netAmount");
    assert!(rdf_type < date && date < amount, "{page}");
    assert!(
        page.contains("href=\"http://reference.data.gov.uk/id/day/2024-01-03\" title=\"http://reference.data.gov.uk/id/day/2024-01-03\">3 January 2024</a>"),
        "{page}"
    );
    assert!(
        !page.contains("(decimal)</span>") && !page.contains(">2024-01-03<"),
        "{page}"
    );
    assert!(
        page.contains(">Acme Paper Ltd</a>"),
        "the payee by its preferred name"
    );
    // Every property shown has a label (rdfs:label's own included).
    assert!(
        !page.contains(">http://www.w3.org/2000/01/rdf-schema#label<"),
        "{page}"
    );

    // The RDF keeps the machine forms and the titles.
    let ttl = client
        .get(format!(
            "{}/doc/acme/payment/ACME-1234/2024-01-03",
            site.url
        ))
        .header("accept", "text/turtle")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        ttl.contains("payment:netAmount \"1234\"^^xsd:decimal"),
        "{ttl}"
    );
    assert!(
        ttl.contains("\"£1,234.00 to ACME PAPER LIMITED, 3 January 2024\""),
        "{ttl}"
    );
}

#[test]
fn a_dataset_page_charts_its_data_and_shows_its_first_rows() {
    let (_s, site) = acme_site("glance", 300);
    let client = common::client();
    let get = |path: &str| {
        let r = client.get(format!("{}{path}", site.url)).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.text().unwrap()
    };
    let page = get("/dataset/acme");
    // Two charts, as SVG with a title, each with its numbers and a CSV.
    for (id, title) in [
        ("spend-per-month", "Spend per month"),
        ("largest-suppliers", "The 10 largest suppliers"),
    ] {
        assert!(
            page.contains(&format!("<figure id=\"figure-{id}\">")),
            "{page}"
        );
        assert!(page.contains(&format!("<title id=\"{id}-title\">{title}</title>")));
        assert!(page.contains(&format!("href=\"/dataset/acme/figures/{id}.csv\"")));
    }
    // The month's total is the sum of 1 + 2 + … + 300 pounds, computed here.
    let total: u64 = (1..=300).sum();
    let csv = get("/dataset/acme/figures/spend-per-month.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "key,label,value,rows");
    assert_eq!(
        lines[1],
        format!("http://reference.data.gov.uk/id/month/2024-01,January 2024,{total},300")
    );
    assert!(page.contains(&format!("£{},{:03}.00", total / 1000, total % 1000)));
    // The same total, summed while the release loaded: the page's example query reads it from
    // the release's summary graph through /sparql.
    let link = "\">Spend per month (summed when published)</a>";
    let end = page.find(link).unwrap_or_else(|| panic!("{page}"));
    let start = page[..end].rfind("href=\"/query?").unwrap() + "href=\"/query?".len();
    let answer = client
        .get(format!("{}/sparql?{}", site.url, &page[start..end]))
        .header("Accept", "application/sparql-results+json")
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: serde_json::Value = answer.json().unwrap();
    let rows = answer["results"]["bindings"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{answer}");
    assert_eq!(rows[0]["total"]["value"], total.to_string());
    assert_eq!(rows[0]["lines"]["value"], "300");
    assert_eq!(
        rows[0]["month"]["value"],
        "http://reference.data.gov.uk/id/month/2024-01"
    );
    // The summary graph resolves; its totals are not in the default graph.
    let at = page.find("/summary?format=turtle").unwrap();
    let from = page[..at].rfind("href=\"").unwrap() + "href=\"".len();
    let turtle = get(&page[from..at + "/summary?format=turtle".len()]);
    assert!(turtle.contains("qb:Observation"), "{turtle}");
    let default = client
        .get(format!("{}/sparql", site.url))
        .query(&[(
            "query",
            "SELECT * WHERE { ?o <http://purl.org/linked-data/cube#dataSet> ?d }",
        )])
        .header("Accept", "application/sparql-results+json")
        .send()
        .unwrap()
        .json::<serde_json::Value>()
        .unwrap();
    assert_eq!(default["results"]["bindings"], serde_json::json!([]));
    // The Service Description names it among the graphs a query may name.
    let sd = client
        .get(format!("{}/sparql", site.url))
        .header("Accept", "application/n-triples")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        sd.lines()
            .any(|l| l.contains("sparql-service-description#name>") && l.contains("/summary>")),
        "{sd}"
    );
    // The first 20 rows, under the template's titles, read as people read them.
    assert!(page.contains("<h2>A first look</h2>"));
    assert!(page.contains("The first 20 rows of the live release"));
    assert!(page.contains("<th>Net Amount</th>") && page.contains("<th>Supplier Name</th>"));
    assert!(page.contains("<data value=\"1.00\">£1.00</data>"), "{page}");
    assert!(
        page.contains("<data value=\"2024-01-02\">2 January 2024</data>"),
        "{page}"
    );
    assert!(
        !page.contains("<th>row_key</th>"),
        "computed columns are left out"
    );
    // A figure that does not exist.
    let r = client
        .get(format!("{}/dataset/acme/figures/nope.csv", site.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
}
