#!/usr/bin/env python3
"""Writes the example council files `make run` publishes (pipelines/examples/data/).

Every row is synthetic: invented suppliers, references and places for real councils' codes.
Each council's spending file has its own headers, encoding, format and quirks, as real exports
do; the same suppliers appear across councils under slightly different spellings.

It also writes `expected-supplier-totals.json`: each shared supplier's total net spending
across every example council, computed here from the rows as generated (not from fivestar),
for the cross-council test; and `expected-supplier-totals-by-council.json`, the same per
council (GSS code), for the supplier pages' test.

    pip install openpyxl odfpy && python3 pipelines/examples/make_examples.py

The files are committed, so neither `make run` nor the tests need Python.
"""
import csv
import datetime
import io
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
rng = random.Random(20241123)

# Suppliers: a canonical key and the spellings councils use.
SUPPLIERS = {
    "meadowbank-waste-solutions": ["Meadowbank Waste Solutions Ltd", "MEADOWBANK WASTE SOLUTIONS LIMITED", "Meadowbank Waste Solutions Ltd."],
    "civic-office-supplies": ["Civic Office Supplies Ltd", "Civic Office Supplies Limited", "CIVIC OFFICE SUPPLIES LTD"],
    "greenleaf-grounds": ["Greenleaf Grounds Ltd", "Greenleaf Grounds Limited", "The Greenleaf Grounds Ltd"],
    "brightwater-care-services": ["Brightwater Care Services Ltd", "BRIGHTWATER CARE SERVICES LTD", "Brightwater Care Services Limited"],
    "northway-highways-maintenance": ["Northway Highways Maintenance Ltd", "Northway Highways Maintenance Limited"],
    "pennine-it-and-telecoms": ["Pennine IT & Telecoms Ltd", "Pennine IT and Telecoms Limited", "PENNINE IT & TELECOMS LTD"],
    "harbourside-legal-services": None,  # one council only (set below)
}
SUPPLIERS["harbourside-legal-services"] = ["Harbourside Legal Services LLP"]
COMPANY_NUMBERS = {
    "meadowbank-waste-solutions": "04567812",
    "civic-office-supplies": "1234567",
    "pennine-it-and-telecoms": "SC123456",
}
EXPENSES = [
    ("Waste Collection", "Environment", "meadowbank-waste-solutions"),
    ("Stationery", "Corporate Services", "civic-office-supplies"),
    ("Grounds Maintenance", "Parks and Open Spaces", "greenleaf-grounds"),
    ("Residential Care", "Adult Social Care", "brightwater-care-services"),
    ("Highways Maintenance", "Highways", "northway-highways-maintenance"),
    ("IT Services", "Digital", "pennine-it-and-telecoms"),
]

totals = {}
by_council = {}
# The council of each file's rows (their reference prefix), by GSS code.
COUNCILS = {"TRA": "E08000009", "LDS": "E08000035", "BRI": "E06000023", "CAM": "E09000007"}


def add_total(key, amount, council):
    totals[key] = round(totals.get(key, 0.0) + amount, 2)
    per = by_council.setdefault(key, {})
    per[COUNCILS[council]] = round(per.get(COUNCILS[council], 0.0) + amount, 2)


def rows_for(prefix, n, start, spellings_at):
    out = []
    for i in range(n):
        exp, area, key = EXPENSES[i % len(EXPENSES)]
        if i == n - 1 and prefix == "BRI":
            exp, area, key = ("Legal Fees", "Legal Services", "harbourside-legal-services")
        names = SUPPLIERS[key]
        name = names[(i // len(EXPENSES) + spellings_at) % len(names)]
        d = start + datetime.timedelta(days=rng.randrange(0, 88))
        amt = round(rng.uniform(520, 48000), 2)
        if i % 11 == 7:
            amt = -round(rng.uniform(500, 2000), 2)  # a credit note
        out.append(dict(ref=f"{prefix}-{2024}-{1000 + i}", date=d, amount=amt, supplier=name,
                        key=key, expense=exp, area=area))
        add_total(key, amt, prefix)
    out.sort(key=lambda r: r["date"])
    return out


def money_gbp(v):
    return ("-£" if v < 0 else "£") + f"{abs(v):,.2f}"


def write_csv(name, header, rows, encoding="utf-8", newline="\n", title_rows=()):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline)
    for t in title_rows:
        w.writerow(t)
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    with open(os.path.join(DATA, name), "wb") as f:
        f.write(buf.getvalue().encode(encoding))


os.makedirs(DATA, exist_ok=True)

# Trafford's own file (already in pipelines/examples/spending/): count it in the totals.
TRAFFORD_KEYS = {
    "Greenleaf Grounds Ltd": "greenleaf-grounds",
    "Civic Office Supplies Ltd": "civic-office-supplies",
    "Meadowbank Waste Solutions Ltd": "meadowbank-waste-solutions",
    "Northway Highways Maintenance Ltd": "northway-highways-maintenance",
    "Brightwater Care Services Ltd": "brightwater-care-services",
    "Altrincham Building Repairs Ltd": "altrincham-building-repairs",
    "Sale Community Transport CIC": "sale-community-transport",
    "Stretford Youth Trust": "stretford-youth-trust",
}
with open(os.path.join(HERE, "spending", "trafford-spend-2024-q1.csv"), encoding="utf-8") as f:
    for r in csv.DictReader(f):
        add_total(TRAFFORD_KEYS[r["Supplier Name"]], float(r["Net Amount"].replace(",", "")), "TRA")

# 1. Leeds: Excel, a title block, "Beneficiary Name" / "Amount £" / "Service", real dates,
#    company numbers for some suppliers.
leeds = rows_for("LDS", 30, datetime.date(2024, 1, 1), 1)
try:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Payments"
    ws.append(["Leeds City Council"])
    ws.append(["Expenditure over £500: January to March 2024"])
    ws.append([])
    ws.append(["Organisation Name", "Payment Date", "Transaction No", "Beneficiary Name",
               "Company Number", "Amount £", "Service", "Expenditure Category"])
    for r in leeds:
        ws.append(["Leeds City Council", r["date"], r["ref"], r["supplier"],
                   COMPANY_NUMBERS.get(r["key"]), r["amount"], r["area"], r["expense"]])
    for row in ws.iter_rows(min_row=5, min_col=2, max_col=2):
        for c in row:
            c.number_format = "dd/mm/yyyy"
    wb.save(os.path.join(DATA, "leeds-spending-2024-q1.xlsx"))
except ImportError:
    raise SystemExit("pip install openpyxl")

# 2. Bristol: Windows-1252 CSV with CRLF, "£1,234.56" amounts, 15-Feb-2024 dates, a
#    VAT number column, "Supplier" / "Net Value" / "Directorate" / "Account Description".
bristol = rows_for("BRI", 24, datetime.date(2024, 1, 1), 2)
VAT = {"civic-office-supplies": "GB 123 4567 82", "greenleaf-grounds": "987654321"}
write_csv(
    "bristol-spending-2024-q1.csv",
    ["Body Name", "Body", "Date Paid", "Ref", "Supplier", "VAT Number", "Net Value",
     "Directorate", "Account Description"],
    [["Bristol City Council", "00HB", r["date"].strftime("%d-%b-%Y"), r["ref"], r["supplier"],
      VAT.get(r["key"], ""), money_gbp(r["amount"]), r["area"], r["expense"]] for r in bristol],
    encoding="cp1252", newline="\r\n",
)

# 3. Camden: OpenDocument, procurement card lines mixed in (merchant category), ISO dates,
#    "Vendor Name" / "Amount" / "Department" / "Expense Description".
camden = rows_for("CAM", 18, datetime.date(2024, 1, 1), 0)
try:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableRow, TableCell
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    t = Table(name="Spend")

    def cell(v):
        if isinstance(v, datetime.date):
            c = TableCell(valuetype="date", datevalue=v.isoformat())
            c.addElement(P(text=v.isoformat()))
        elif isinstance(v, float):
            c = TableCell(valuetype="float", value=repr(v))
            c.addElement(P(text=f"{v:.2f}"))
        else:
            c = TableCell(valuetype="string")
            c.addElement(P(text=str(v)))
        return c

    header = ["Organisation", "Organisation Code", "Date", "Transaction ID", "Vendor Name",
              "Amount", "Department", "Expense Description", "Merchant Category"]
    r = TableRow()
    for h in header:
        r.addElement(cell(h))
    t.addElement(r)
    for i, x in enumerate(camden):
        r = TableRow()
        merchant = "Office Supplies" if i % 4 == 1 else ""
        for v in ["London Borough of Camden", "E09000007", x["date"], x["ref"], x["supplier"],
                  x["amount"], x["area"], x["expense"], merchant]:
            r.addElement(cell(v))
        t.addElement(r)
    doc.spreadsheet.addElement(t)
    doc.save(os.path.join(DATA, "camden-spending-2024-q1.ods"))
except ImportError:
    raise SystemExit("pip install odfpy")

# 4. Trafford contracts over £5,000.
write_csv(
    "trafford-contracts-2024.csv",
    ["Organisation Name", "Contract Reference", "Contract Title", "Department", "Supplier Name",
     "Company Number", "SME/VCSE", "Contract Start Date", "Contract End Date", "Contract Value",
     "Procurement Route"],
    [
        ["Trafford Council", "TRA-C-0101", "Household waste collection", "Environment",
         "Meadowbank Waste Solutions Ltd", "04567812", "No", "01/04/2022", "31/03/2027", "£4,250,000.00", "Open"],
        ["Trafford Council", "TRA-C-0102", "Parks grounds maintenance", "Parks and Open Spaces",
         "Greenleaf Grounds Limited", "", "SME", "01/06/2023", "31/05/2026", "£612,400.00", "Restricted"],
        ["Trafford Council", "TRA-C-0103", "Office stationery framework", "Corporate Services",
         "Civic Office Supplies Ltd", "1234567", "SME", "01/01/2024", "31/12/2025", "£48,000.00", "Framework"],
        ["Trafford Council", "TRA-C-0104", "Community transport", "Adult Social Care",
         "Sale Community Transport CIC", "", "VCSE", "01/04/2024", "31/03/2025", "£96,500.00", "Single tender"],
    ],
)

# 5. Leeds grants, 360Giving columns.
write_csv(
    "leeds-grants-2023-24.csv",
    ["Identifier", "Title", "Description", "Currency", "Amount Awarded", "Award Date",
     "Recipient Org:Identifier", "Recipient Org:Name", "Recipient Org:Charity Number",
     "Recipient Org:Postal Code", "Funding Org:Identifier", "Funding Org:Name", "Grant Programme:Title"],
    [
        ["360G-LCC-2023-001", "Holiday activities", "Summer holiday clubs for 200 children", "GBP", "12500", "2023-06-12",
         "GB-CHC-1123456", "Harehills Youth Project", "1123456", "LS8 3AB", "E08000035", "Leeds City Council", "Communities Fund"],
        ["360G-LCC-2023-002", "Food bank van", "A refrigerated van for the food bank", "GBP", "18000", "2023-09-01",
         "GB-CHC-1098765", "Armley Food Bank", "1098765", "LS12 1UQ", "E08000035", "Leeds City Council", "Communities Fund"],
        ["360G-LCC-2024-003", "Warm spaces", "Heating and opening hours for a warm space", "GBP", "4750", "2024-01-15",
         "GB-CHC-1161616", "Chapeltown Community Centre", "1161616", "LS7 3HY", "E08000035", "Leeds City Council", "Winter Support"],
        ["360G-LCC-2024-004", "Allotment access", "Raised beds and paths for disabled growers", "GBP", "2300", "2024-03-28",
         "GB-COH-09876543", "Kirkstall Growers CIC", "", "LS5 3BT", "E08000035", "Leeds City Council", "Green Spaces"],
    ],
)

# 6. Bristol public toilets: easting/northing (OSGB36), postcodes.
write_csv(
    "bristol-public-toilets.csv",
    ["Organisation Label", "Organisation URI", "Location", "Street Address", "Postcode",
     "Easting", "Northing", "Category", "Accessible", "Baby Change", "Opening Hours", "Charge"],
    [
        ["Bristol City Council", "http://opendatacommunities.org/id/unitary-authority/bristol/E06000023",
         "Castle Park", "Wine Street", "BS1 2DN", "359140", "173160", "Unisex", "RADAR key", "Yes", "08:00-18:00", "0.20"],
        ["Bristol City Council", "http://opendatacommunities.org/id/unitary-authority/bristol/E06000023",
         "Clifton Down", "Stoke Road", "BS8 3LD", "356750", "174790", "Female and male", "Yes", "Yes", "07:00-19:00", "0.00"],
        ["Bristol City Council", "http://opendatacommunities.org/id/unitary-authority/bristol/E06000023",
         "Eastville Park", "Fishponds Road", "BS5 6XE", "361290", "175460", "Unisex", "No", "No", "09:00-17:00", "0.00"],
    ],
)

# 7. Camden premises licences: postcodes and UPRNs; licence holders may be individuals.
write_csv(
    "camden-premises-licences.csv",
    ["Licence Number", "Premises Name", "Premises Address", "Postcode", "UPRN", "Licence Holder",
     "Licensable Activities", "Opening Hours", "Date Granted", "Status", "Licensing Authority"],
    [
        ["PREM-2019-0042", "The Kentish Arms", "12 Example Road, London", "NW5 1AA", "000005012345",
         "Kentish Inns Ltd", "Sale of alcohol; recorded music", "11:00-23:00", "14/03/2019", "Current", "Camden"],
        ["PREM-2021-0117", "Fleet Street Deli", "3 Sample Street, London", "NW1 7AB", "5098765",
         "A. N. Other", "Late night refreshment", "07:00-00:30", "02/08/2021", "Current", "Camden"],
        ["PREM-2023-0208", "Regent Music Hall", "40 Illustration Place, London", "NW1 4XX", "5011111",
         "Regent Halls Ltd", "Live music; plays; sale of alcohol", "10:00-02:00", "30/11/2023", "Current", "Camden"],
    ],
)

with open(os.path.join(HERE, "expected-supplier-totals.json"), "w") as f:
    json.dump(dict(sorted(totals.items())), f, indent=2)
    f.write("\n")
with open(os.path.join(HERE, "expected-supplier-totals-by-council.json"), "w") as f:
    json.dump({k: dict(sorted(v.items())) for k, v in sorted(by_council.items())}, f, indent=2)
    f.write("\n")
print("wrote", sorted(os.listdir(DATA)))
