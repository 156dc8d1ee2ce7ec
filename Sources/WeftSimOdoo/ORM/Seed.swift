import WeftCore

/// The records a fresh Odoo database with the generic chart of accounts starts with (ids as in the captured databases).
enum Seed {
    static let bankJournal: Int64 = 6
    static func receivableAccount(_ flavour: Flavour) -> Int64 { flavour.is19 ? 5 : 7 }
    static func incomeAccount(_ flavour: Flavour) -> Int64 { flavour.is19 ? 26 : 27 }
    static func payableAccount(_ flavour: Flavour) -> Int64 { flavour.is19 ? 14 : 15 }
    static func taxAccount(_ flavour: Flavour) -> Int64 { flavour.is19 ? 18 : 19 }
    static func outstandingAccount(_ flavour: Flavour) -> Int64 { flavour.is19 ? 3 : 4 }
    static func eurId(_ flavour: Flavour) -> Int64 { flavour.is19 ? 126 : 125 }

    /// A short country list. US (233) and DE (57) carry the captured ids; the other ids are the simulator's own.
    static let countries: [(Int64, String, String, Int64)] = [
        (14, "AT", "Austria", 43), (13, "AU", "Australia", 61), (21, "BE", "Belgium", 32), (31, "BR", "Brazil", 55),
        (38, "CA", "Canada", 1), (43, "CH", "Switzerland", 41), (57, "DE", "Germany", 49), (60, "DK", "Denmark", 45),
        (68, "ES", "Spain", 34), (75, "FR", "France", 33), (231, "GB", "United Kingdom", 44), (104, "IE", "Ireland", 353),
        (110, "IT", "Italy", 39), (113, "JP", "Japan", 81), (166, "NL", "Netherlands", 31), (178, "PL", "Poland", 48),
        (183, "PT", "Portugal", 351), (201, "SE", "Sweden", 46), (233, "US", "United States", 1), (105, "IN", "India", 91),
    ]

    /// A few states (`res.country.state`) of the seeded countries; ids are the simulator's own.
    static let states: [(Int64, String, String)] = [
        (233, "CA", "California"), (233, "NY", "New York"), (233, "TX", "Texas"), (233, "WA", "Washington"),
        (38, "ON", "Ontario"), (38, "QC", "Quebec"), (57, "BY", "Bavaria"), (57, "BE", "Berlin"),
    ]

    /// The payment terms the `account` module ships (`account_payment_term_data.xml`), in that order.
    static let paymentTerms = [
        "Immediate Payment", "15 Days", "21 Days", "30 Days", "45 Days", "End of Following Month", "10 Days after End of Next Month",
        "30% Now, Balance 60 Days", "2/7 Net 30", "90 days, on the 10th",
    ]

    /// The industries `base` ships (`res_partner_industry_data.xml`, NACE sections A–U): short name, full name.
    static let industries: [(String, String)] = [
        ("Agriculture", "A - AGRICULTURE, FORESTRY AND FISHING"), ("Mining", "B - MINING AND QUARRYING"),
        ("Manufacturing", "C - MANUFACTURING"), ("Energy supply", "D - ELECTRICITY, GAS, STEAM AND AIR CONDITIONING SUPPLY"),
        ("Water supply", "E - WATER SUPPLY; SEWERAGE, WASTE MANAGEMENT AND REMEDIATION ACTIVITIES"), ("Construction", "F - CONSTRUCTION"),
        ("Wholesale/Retail", "G - WHOLESALE AND RETAIL TRADE; REPAIR OF MOTOR VEHICLES AND MOTORCYCLES"),
        ("Transportation/Logistics", "H - TRANSPORTATION AND STORAGE"),
        ("Food/Hospitality", "I - ACCOMMODATION AND FOOD SERVICE ACTIVITIES"),
        ("Information and communication", "J - INFORMATION AND COMMUNICATION"),
        ("Finance/Insurance", "K - FINANCIAL AND INSURANCE ACTIVITIES"),
        ("Real Estate", "L - REAL ESTATE ACTIVITIES"), ("Scientific", "M - PROFESSIONAL, SCIENTIFIC AND TECHNICAL ACTIVITIES"),
        ("Administrative/Utilities", "N - ADMINISTRATIVE AND SUPPORT SERVICE ACTIVITIES"),
        ("Public Administration", "O - PUBLIC ADMINISTRATION AND DEFENCE; COMPULSORY SOCIAL SECURITY"), ("Education", "P - EDUCATION"),
        ("Health/Social", "Q - HUMAN HEALTH AND SOCIAL WORK ACTIVITIES"), ("Entertainment", "R - ARTS, ENTERTAINMENT AND RECREATION"),
        ("Other Services", "S - OTHER SERVICE ACTIVITIES"),
        (
            "Households",
            "T - ACTIVITIES OF HOUSEHOLDS AS EMPLOYERS; UNDIFFERENTIATED GOODS- AND SERVICES-PRODUCING ACTIVITIES OF HOUSEHOLDS FOR OWN USE"
        ),
        ("Extraterritorial", "U - ACTIVITIES OF EXTRATERRITORIAL ORGANISATIONS AND BODIES"),
    ]

    static func populate(_ db: inout Database, login: String) {
        let flavour = db.flavour
        let stamp: JSONValue = .string(db.timestamp)
        func put(_ model: String, _ id: Int64, _ values: [String: JSONValue]) {
            var row = values
            row["create_date"] = stamp
            row["write_date"] = stamp
            db.insertRow(model, id, row)
        }
        for (index, spec) in db.models.values.sorted(by: { $0.name < $1.name }).enumerated() {
            put("ir.model", Int64(index + 1), ["model": .string(spec.name), "name": .string(spec.label)])
        }
        for (id, code, name, phone) in countries {
            put("res.country", id, ["name": .string(name), "code": .string(code), "phone_code": .int(phone)])
        }
        db.setNextId("res.country", 251)
        for (index, state) in states.enumerated() {
            put("res.country.state", Int64(index + 1), ["country_id": .int(state.0), "code": .string(state.1), "name": .string(state.2)])
        }
        put(
            "res.currency", 1,
            [
                "name": "USD", "full_name": "United States dollar", "symbol": "$", "position": "before", "rounding": .double(0.01),
                "active": true,
            ])
        put(
            "res.currency", eurId(flavour),
            ["name": "EUR", "full_name": "Euro", "symbol": "€", "position": "after", "rounding": .double(0.01), "active": false])
        put(
            "res.currency", 3,
            ["name": "KWD", "full_name": "Kuwaiti dinar", "symbol": "KD", "position": "after", "rounding": .double(0.001), "active": false])
        put(
            "res.currency", 4,
            ["name": "JPY", "full_name": "Japanese yen", "symbol": "¥", "position": "before", "rounding": .double(1), "active": false])
        // Odoo's defaults (`product/data/product_data.xml`, `account`'s "Discount").
        put("decimal.precision", 1, ["name": "Product Price", "digits": .int(2)])
        put("decimal.precision", 2, ["name": "Discount", "digits": .int(2)])
        put("uom.uom", 1, ["name": "Units", "active": true])
        put(
            "res.partner", 1,
            [
                "name": "My Company", "complete_name": "My Company", "is_company": true, "country_id": .int(233), "company_id": .int(1),
                "type": "contact", "lang": "en_US", "active": true, "child_ids": .array([]),
            ])
        put(
            "res.partner", 2,
            [
                "name": "OdooBot", "complete_name": "OdooBot", "is_company": false, "type": "contact", "lang": "en_US", "active": false,
                "email": "odoobot@example.com",
            ])
        put(
            "res.partner", 3,
            [
                "name": "Administrator", "complete_name": "Administrator", "is_company": false, "type": "contact", "lang": "en_US",
                "active": true, "company_id": .int(1), "email": "admin@example.com",
            ])
        db.setNextId("res.partner", 7)
        put(
            "res.users", 1,
            ["login": "__system__", "name": "OdooBot", "partner_id": .int(2), "company_id": .int(1), "active": false, "lang": "en_US"])
        put(
            "res.users", 2,
            [
                "login": .string(login), "name": "Administrator", "partner_id": .int(3), "company_id": .int(1), "active": true,
                "lang": "en_US",
            ])
        put(
            "account.tax", 1,
            [
                "name": "15%", "amount": .double(15), "amount_type": "percent", "type_tax_use": "sale", "price_include": false,
                "active": true,
                "company_id": .int(1), "sequence": .int(1),
            ])
        put(
            "account.tax", 2,
            [
                "name": "15%", "amount": .double(15), "amount_type": "percent", "type_tax_use": "purchase", "price_include": false,
                "active": true, "company_id": .int(1), "sequence": .int(1),
            ])
        put(
            "res.company", 1,
            ["name": "My Company", "partner_id": .int(1), "currency_id": .int(1), "country_id": .int(233), "account_sale_tax_id": .int(1)])
        let accounts: [(Int64, String, String, String, Bool)] = [
            (outstandingAccount(flavour), "101402", "Outstanding Receipts", "asset_current", true),
            (receivableAccount(flavour), "121000", "Account Receivable", "asset_receivable", true),
            (payableAccount(flavour), "211000", "Account Payable", "liability_payable", true),
            (taxAccount(flavour), "251000", "Tax Received", "liability_current", false),
            (incomeAccount(flavour), "400000", "Product Sales", "income", false),
        ]
        for (id, code, name, type, reconcile) in accounts {
            put(
                "account.account", id,
                ["code": .string(code), "name": .string(name), "account_type": .string(type), "reconcile": .bool(reconcile)])
        }
        let journals: [(Int64, String, String, String)] = [
            (1, flavour.is19 ? "Sales" : "Customer Invoices", "INV", "sale"),
            (2, flavour.is19 ? "Purchases" : "Vendor Bills", "BILL", "purchase"),
            (3, "Miscellaneous Operations", "MISC", "general"), (bankJournal, "Bank", "BNK1", "bank"), (7, "Cash", "CSH1", "cash"),
        ]
        for (index, journal) in journals.enumerated() {
            put(
                "account.journal", journal.0,
                [
                    "name": .string(journal.1), "code": .string(journal.2), "type": .string(journal.3), "active": true,
                    "sequence": .int(Int64(index + 1) * 5),
                ])
        }
        put("account.payment.method.line", 1, ["name": "Manual Payment", "journal_id": .int(bankJournal), "payment_type": "inbound"])
        put("account.payment.method.line", 2, ["name": "Manual Payment", "journal_id": .int(bankJournal), "payment_type": "outbound"])
        for (index, name) in paymentTerms.enumerated() {
            put("account.payment.term", Int64(index + 1), ["name": .string(name), "active": true])
        }
        for (index, industry) in industries.enumerated() {
            put("res.partner.industry", Int64(index + 1), ["name": .string(industry.0), "full_name": .string(industry.1), "active": true])
        }
        if flavour.enterprise {
            put(
                "sale.subscription.plan", 1,
                ["name": "Monthly", "billing_period_value": .int(1), "billing_period_unit": "month", "active": true])
            put(
                "sale.subscription.plan", 2,
                ["name": "Yearly", "billing_period_value": .int(1), "billing_period_unit": "year", "active": true])
        }
    }
}
