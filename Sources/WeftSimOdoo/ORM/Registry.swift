import WeftCore

/// Which Odoo the simulator answers as.
struct Flavour: Sendable {
    /// 18 or 19.
    let major: Int
    /// Enterprise subscriptions installed.
    let enterprise: Bool
    /// Odoo Accounting installed, payment method lines without an outstanding account: payments have no journal entry.
    var accounting = false

    var is19: Bool { major >= 19 }
    var saleLineTax: String { is19 ? "tax_ids" : "tax_id" }
    var saleLineUom: String { is19 ? "product_uom_id" : "product_uom" }
}

/// Builds the simulated models for one flavour.
enum Registry {
    static let moveTypes: [(String, String)] = [
        ("entry", "Journal Entry"), ("out_invoice", "Customer Invoice"), ("out_refund", "Customer Credit Note"),
        ("in_invoice", "Vendor Bill"), ("in_refund", "Vendor Credit Note"), ("out_receipt", "Sales Receipt"),
        ("in_receipt", "Purchase Receipt"),
    ]
    static let paymentStates: [(String, String)] = [
        ("not_paid", "Not Paid"), ("in_payment", "In Payment"), ("paid", "Paid"), ("partial", "Partially Paid"),
        ("reversed", "Reversed"), ("blocked", "Blocked"), ("invoicing_legacy", "Invoicing App Legacy"),
    ]

    static func models(_ flavour: Flavour) -> [String: ModelSpec] {
        var list: [ModelSpec] = []
        let partnerTypes: [(String, String)] =
            flavour.is19
            ? [("contact", "Contact"), ("invoice", "Invoice"), ("delivery", "Delivery"), ("other", "Other")]
            : [("contact", "Contact"), ("invoice", "Invoice Address"), ("delivery", "Delivery Address"), ("other", "Other Address")]
        var partner = ModelSpec(
            "res.partner", "Contact",
            [
                char("name", "Name"), char("complete_name", "Complete Name"), char("ref", "Reference"),
                char("email", "Email"), char("phone", "Phone"), char("vat", "Tax ID"), char("function", "Job Position"),
                char("website", "Website Link"), html("comment", "Notes"),
                boolean("is_company", "Is a Company", default: false),
                selection(
                    "company_type", "Company Type", [("person", flavour.is19 ? "Person" : "Individual"), ("company", "Company")],
                    computed: true),
                selection("type", "Address Type", partnerTypes, default: "contact"),
                many2one("parent_id", "res.partner", "Related Company"),
                one2many("child_ids", "res.partner", "parent_id", "Contact"),
                many2one("commercial_partner_id", "res.partner", "Commercial Entity", computed: true),
                char("street", "Street"), char("street2", "Street2"), char("zip", "Zip"), char("city", "City"),
                many2one("state_id", "res.country.state", "State"), many2one("country_id", "res.country", "Country"),
                selection("lang", "Language", [("en_US", "English (US)")], default: "en_US"),
                boolean("active", "Active", default: true),
                integer("customer_rank", "Customer Rank", default: 0), integer("supplier_rank", "Supplier Rank", default: 0),
                many2many("category_id", "res.partner.category", "Tags"),
                many2one("company_id", "res.company", "Company"),
                many2one("user_id", "res.users", "Salesperson"),
                many2one("property_payment_term_id", "account.payment.term", "Customer Payment Terms"),
                many2one("industry_id", "res.partner.industry", "Industry"),
            ])
        partner.order = [("complete_name", false), ("id", true)]
        partner.parentField = "parent_id"
        partner.recName = "complete_name"
        list.append(partner)

        var category = ModelSpec(
            "res.partner.category", "Partner Tags",
            [
                char("name", "Name", required: true), integer("color", "Color"),
                many2one("parent_id", "res.partner.category", "Parent Category"),
                one2many("child_ids", "res.partner.category", "parent_id", "Child Tags"),
                boolean("active", "Active", default: true), many2many("partner_ids", "res.partner", "Partners", computed: true),
            ])
        category.order = [("name", false), ("id", false)]
        category.parentField = "parent_id"
        list.append(category)

        // Odoo 17–19 `base` (19: the `partner` addon): name and full name (translatable), archivable, `_order = "name"`.
        var industry = ModelSpec(
            "res.partner.industry", "Industry",
            [char("name", "Name"), char("full_name", "Full Name"), boolean("active", "Active", default: true)])
        industry.order = [("name", false), ("id", false)]
        list.append(industry)

        var country = ModelSpec(
            "res.country", "Country",
            [
                char("name", "Country Name", required: true), char("code", "Country Code"), integer("phone_code", "Country Calling Code"),
                many2one("currency_id", "res.currency", "Currency"),
            ])
        country.order = [("name", false)]
        list.append(country)

        var state = ModelSpec(
            "res.country.state", "Country state",
            [
                many2one("country_id", "res.country", "Country", required: true), char("name", "State Name", required: true),
                char("code", "State Code", required: true),
            ])
        state.order = [("code", false)]
        list.append(state)

        var currency = ModelSpec(
            "res.currency", "Currency",
            [
                char("name", "Currency", required: true), char("full_name", "Name"), char("symbol", "Symbol", required: true),
                selection("position", "Symbol Position", [("after", "After Amount"), ("before", "Before Amount")], default: "after"),
                integer("decimal_places", "Decimal Places", computed: true), float("rounding", "Rounding Factor", default: 0.01),
                boolean("active", "Active", default: true),
            ])
        currency.order = [("active", true), ("name", false)]
        list.append(currency)

        list.append(
            ModelSpec(
                "res.company", "Companies",
                [
                    char("name", "Company Name", required: true), many2one("partner_id", "res.partner", "Partner"),
                    many2one("currency_id", "res.currency", "Currency"), many2one("country_id", "res.country", "Country"),
                    many2one("account_sale_tax_id", "account.tax", "Default Sale Tax"), char("email", "Email"),
                    char("phone", "Phone"), char("vat", "Tax ID"),
                ]))

        var users = ModelSpec(
            "res.users", "User",
            [
                char("login", "Login", required: true), char("name", "Name"), many2one("partner_id", "res.partner", "Related Partner"),
                many2one("company_id", "res.company", "Company"), boolean("active", "Active", default: true),
                selection("lang", "Language", [("en_US", "English (US)")], default: "en_US"), char("tz", "Timezone"),
                char("email", "Email"),
            ])
        users.order = [("name", false), ("login", false)]
        list.append(users)

        var uom = ModelSpec(
            "uom.uom", "Product Unit of Measure", [char("name", "Unit Name", required: true), boolean("active", "Active", default: true)])
        uom.order = [("name", false)]
        list.append(uom)

        var productTypes: [(String, String)] = [("consu", "Goods"), ("service", "Service"), ("combo", "Combo")]
        if !flavour.is19 { productTypes[0].1 = "Goods" }
        let templateFields: [FieldSpec] = [
            char("name", "Name", required: true), char("default_code", "Internal Reference"), char("barcode", "Barcode"),
            float("list_price", "Sales Price", default: 1.0), float("standard_price", "Cost"),
            selection("type", "Product Type", productTypes, default: "consu"), boolean("is_storable", "Track Inventory", default: false),
            boolean("sale_ok", "Sales", default: true), boolean("purchase_ok", "Purchase", default: true),
            boolean("active", "Active", default: true), many2many("taxes_id", "account.tax", "Sales Taxes"),
            many2one("uom_id", "uom.uom", "Unit"), text("description_sale", "Sales Description"),
            selection(
                "invoice_policy", "Invoicing Policy", [("order", "Ordered quantities"), ("delivery", "Delivered quantities")],
                default: "order"),
        ]
        var template = ModelSpec(
            "product.template", "Product",
            templateFields + [one2many("product_variant_ids", "product.product", "product_tmpl_id", "Products")])
        template.order = [("name", false), ("id", false)]
        list.append(template)
        var product = ModelSpec(
            "product.product", "Product",
            [
                many2one("product_tmpl_id", "product.template", "Product Template", required: true),
                char("default_code", "Internal Reference"), char("barcode", "Barcode"), float("lst_price", "Sales Price", computed: true),
                boolean("active", "Active", default: true),
            ])
        for field in templateFields where product.fields[field.name] == nil { product.add(field) }
        product.order = [("default_code", false), ("name", false), ("id", false)]
        product.delegate = ("product.template", "product_tmpl_id")
        list.append(product)

        var tax = ModelSpec(
            "account.tax", "Tax",
            [
                char("name", "Tax Name", required: true), float("amount", "Amount"),
                selection(
                    "amount_type", "Tax Computation",
                    [("group", "Group of Taxes"), ("fixed", "Fixed"), ("percent", "Percentage"), ("division", "Percentage Tax Included")],
                    default: "percent"),
                selection("type_tax_use", "Tax Type", [("sale", "Sales"), ("purchase", "Purchases"), ("none", "None")], default: "sale"),
                boolean("price_include", "Included in Price", default: false), boolean("active", "Active", default: true),
                many2one("company_id", "res.company", "Company"), integer("sequence", "Sequence", default: 1),
            ])
        tax.order = [("sequence", false), ("id", false)]
        list.append(tax)

        var account = ModelSpec(
            "account.account", "Account",
            [
                char("name", "Account Name", required: true), char("code", "Code"),
                selection(
                    "account_type", "Type",
                    [
                        ("asset_receivable", "Receivable"), ("asset_cash", "Bank and Cash"), ("asset_current", "Current Assets"),
                        ("liability_payable", "Payable"), ("liability_current", "Current Liabilities"), ("income", "Income"),
                        ("expense", "Expenses"),
                    ]),
                boolean("reconcile", "Allow Reconciliation", default: false),
            ])
        account.order = [("code", false), ("id", false)]
        list.append(account)

        var journal = ModelSpec(
            "account.journal", "Journal",
            [
                char("name", "Journal Name", required: true), char("code", "Short Code", required: true),
                selection(
                    "type", "Type",
                    [
                        ("sale", "Sales"), ("purchase", "Purchase"), ("cash", "Cash"), ("bank", "Bank"), ("credit", "Credit Card"),
                        ("general", "Miscellaneous"),
                    ], required: true),
                boolean("active", "Active", default: true), integer("sequence", "Sequence", default: 10),
                many2one("default_account_id", "account.account", "Default Account"),
            ])
        journal.order = [("sequence", false), ("type", false), ("code", false)]
        list.append(journal)

        list.append(
            ModelSpec(
                "account.payment.method.line", "Payment Methods",
                [
                    char("name", "Name"), many2one("journal_id", "account.journal", "Journal"),
                    selection("payment_type", "Payment Type", [("inbound", "Inbound"), ("outbound", "Outbound")]),
                    many2one("payment_account_id", "account.account", "Outstanding Receipts/Payments Account"),
                ]))

        list.append(
            ModelSpec(
                "account.payment.term", "Payment Terms",
                [char("name", "Payment Terms", required: true), boolean("active", "Active", default: true)]))

        var xmlid = ModelSpec(
            "ir.model.data", "Model Data",
            [
                char("name", "External Identifier", required: true), char("complete_name", "Complete ID"),
                char("model", "Model Name", required: true), char("module", "Module", required: true, default: ""),
                integer("res_id", "Record ID"), boolean("noupdate", "Non Updatable", default: false),
            ])
        xmlid.order = [("module", false), ("model", false), ("name", false)]
        list.append(xmlid)

        var orderFields: [FieldSpec] = [
            char("name", "Order Reference"), many2one("partner_id", "res.partner", "Customer", required: true),
            datetime("date_order", "Order Date"),
            selection(
                "state", "Status", [("draft", "Quotation"), ("sent", "Quotation Sent"), ("sale", "Sales Order"), ("cancel", "Cancelled")],
                default: "draft"),
            boolean("locked", "Locked", default: false),
            one2many("order_line", "sale.order.line", "order_id", "Order Lines"),
            monetary("amount_untaxed", "Untaxed Amount", computed: true), monetary("amount_tax", "Taxes", computed: true),
            monetary("amount_total", "Total", computed: true), many2one("currency_id", "res.currency", "Currency", computed: true),
            selection(
                "invoice_status", "Invoice Status",
                [
                    ("upselling", "Upselling Opportunity"), ("invoiced", "Fully Invoiced"), ("to invoice", "To Invoice"),
                    ("no", "Nothing to Invoice"),
                ], computed: true),
            many2many("invoice_ids", "account.move", "Invoices", computed: true), integer("invoice_count", "Invoice Count", computed: true),
            char("client_order_ref", "Customer Reference"), char("origin", "Source Document"), text("note", "Terms and conditions"),
            many2one("company_id", "res.company", "Company"), many2one("user_id", "res.users", "Salesperson"),
        ]
        if flavour.enterprise {
            orderFields += [
                many2one("plan_id", "sale.subscription.plan", "Recurring Plan"), boolean("is_subscription", "Recurring", computed: true),
                selection(
                    "subscription_state", "Subscription Status",
                    [
                        ("1_draft", "Quotation"), ("2_renewal", "Renewal Quotation"), ("3_progress", "In Progress"), ("4_paused", "Paused"),
                        ("5_renewed", "Renewed"), ("6_churn", "Churned"), ("7_upsell", "Upsell"),
                    ]),
                date("start_date", "Start Date"), date("next_invoice_date", "Date of Next Invoice"), date("end_date", "End Date"),
                monetary("recurring_monthly", "Monthly Recurring", computed: true),
            ]
        }
        var order = ModelSpec("sale.order", "Sales Order", orderFields)
        order.order = [("date_order", true), ("id", true)]
        list.append(order)

        var line = ModelSpec(
            "sale.order.line", "Sales Order Line",
            [
                many2one("order_id", "sale.order", "Order Reference", required: true), integer("sequence", "Sequence", default: 10),
                many2one("product_id", "product.product", "Product"), text("name", "Description"),
                float("product_uom_qty", "Quantity", default: 1.0), many2one(flavour.saleLineUom, "uom.uom", "Unit"),
                float("price_unit", "Unit Price"), float("discount", "Discount (%)", default: 0.0),
                many2many(flavour.saleLineTax, "account.tax", "Taxes"),
                monetary("price_subtotal", "Subtotal", computed: true), monetary("price_tax", "Total Tax", computed: true),
                monetary("price_total", "Total", computed: true), float("qty_invoiced", "Invoiced Quantity", default: 0.0),
                float("qty_delivered", "Delivery Quantity", default: 0.0), float("qty_to_invoice", "Quantity To Invoice", computed: true),
                many2one("currency_id", "res.currency", "Currency", computed: true),
                selection(
                    "state", "Order Status",
                    [("draft", "Quotation"), ("sent", "Quotation Sent"), ("sale", "Sales Order"), ("cancel", "Cancelled")], computed: true),
            ])
        line.order = [("order_id", false), ("sequence", false), ("id", false)]
        list.append(line)

        if flavour.enterprise {
            list.append(
                ModelSpec(
                    "sale.subscription.plan", "Subscription Plan",
                    [
                        char("name", "Name", required: true), integer("billing_period_value", "Duration", default: 1),
                        selection(
                            "billing_period_unit", "Unit", [("week", "Weeks"), ("month", "Months"), ("year", "Years")], default: "month"),
                        boolean("active", "Active", default: true),
                    ]))
        }

        list.append(
            ModelSpec(
                "sale.advance.payment.inv", "Sales Advance Payment Invoice",
                [
                    selection(
                        "advance_payment_method", "Create Invoice",
                        [
                            ("delivered", "Regular invoice"), ("percentage", "Down payment (percentage)"),
                            ("fixed", "Down payment (fixed amount)"),
                        ], default: "delivered"),
                    many2many("sale_order_ids", "sale.order", "Sales Orders"), float("amount", "Down Payment"),
                    monetary("fixed_amount", "Down Payment Amount (Fixed)"),
                ]))

        var move = ModelSpec(
            "account.move", "Journal Entry",
            [
                char("name", "Number"), char("ref", "Reference"), date("date", "Date"),
                selection("move_type", "Type", moveTypes, default: "entry", required: true),
                selection("state", "Status", [("draft", "Draft"), ("posted", "Posted"), ("cancel", "Cancelled")], default: "draft"),
                many2one("journal_id", "account.journal", "Journal"), many2one("partner_id", "res.partner", "Partner"),
                many2one("currency_id", "res.currency", "Currency"), many2one("company_id", "res.company", "Company"),
                date("invoice_date", "Invoice/Bill Date"), date("invoice_date_due", "Due Date"), char("invoice_origin", "Origin"),
                char("payment_reference", "Payment Reference"), html("narration", "Terms and Conditions"),
                one2many("line_ids", "account.move.line", "move_id", "Journal Items"),
                FieldSpec(name: "invoice_line_ids", kind: .one2many("account.move.line", inverse: "move_id"), label: "Invoice lines"),
                monetary("amount_untaxed", "Untaxed Amount", computed: true), monetary("amount_tax", "Tax", computed: true),
                monetary("amount_total", "Total", computed: true), monetary("amount_residual", "Amount Due", computed: true),
                selection("payment_state", "Payment Status", paymentStates, computed: true),
                many2one("reversed_entry_id", "account.move", "Reversal of"),
                boolean("display_inactive_currency_warning", "Display Inactive Currency Warning", computed: true),
                many2one("invoice_payment_term_id", "account.payment.term", "Payment Terms"),
                many2one("partner_shipping_id", "res.partner", "Delivery Address"),
                many2many("matched_payment_ids", "account.payment", "Matched Payments", computed: true),
            ])
        move.order = [("date", true), ("name", true), ("invoice_date", true), ("id", true)]
        list.append(move)

        var moveLine = ModelSpec(
            "account.move.line", "Journal Item",
            [
                many2one("move_id", "account.move", "Journal Entry", required: true), char("name", "Label"),
                many2one("product_id", "product.product", "Product"), float("quantity", "Quantity", default: 1.0),
                // Odoo 16 to 19.0: `fields.Float(digits='Product Price')`, so a unit price is stored rounded to that
                // precision (2 by default), whatever its currency's decimals.
                float("price_unit", "Unit Price", digits: "Product Price"),
                float("discount", "Discount (%)", default: 0.0, digits: "Discount"),
                many2many("tax_ids", "account.tax", "Taxes"), monetary("price_subtotal", "Subtotal", computed: true),
                monetary("price_total", "Total", computed: true), many2one("account_id", "account.account", "Account"),
                selection(
                    "display_type", "Display Type",
                    [
                        ("product", "Product"), ("cogs", "Cost of Goods Sold"), ("tax", "Tax"), ("discount", "Discount"),
                        ("rounding", "Rounding"), ("payment_term", "Payment Term"), ("line_section", "Section"),
                        ("line_subsection", "Subsection"), ("line_note", "Note"), ("epd", "Early Payment Discount"),
                    ], default: "product"),
                monetary("debit", "Debit", computed: true), monetary("credit", "Credit", computed: true), monetary("balance", "Balance"),
                monetary("amount_residual", "Residual Amount", computed: true), boolean("reconciled", "Reconciled", computed: true),
                many2one("partner_id", "res.partner", "Partner"), many2one("currency_id", "res.currency", "Currency"),
                date("date", "Date"),
                selection("parent_state", "Status", [("draft", "Draft"), ("posted", "Posted"), ("cancel", "Cancelled")], computed: true),
                many2one("sale_line_id", "sale.order.line", "Sales Order Line"), char("move_name", "Number", default: nil),
            ])
        moveLine.order = [("date", true), ("move_name", true), ("id", false)]
        list.append(moveLine)

        var payment = ModelSpec(
            "account.payment", "Payments",
            [
                char("name", "Number"), monetary("amount", "Amount"),
                selection(
                    "state", "Status",
                    [
                        ("draft", "Draft"), ("in_process", "In Process"), ("paid", "Paid"), ("canceled", "Canceled"),
                        ("rejected", "Rejected"),
                    ], default: "draft"),
                selection("payment_type", "Payment Type", [("outbound", "Send"), ("inbound", "Receive")], default: "inbound"),
                selection("partner_type", "Partner Type", [("customer", "Customer"), ("supplier", "Vendor")], default: "customer"),
                many2one("partner_id", "res.partner", "Customer/Vendor"), many2one("currency_id", "res.currency", "Currency"),
                many2one("journal_id", "account.journal", "Journal"), date("date", "Date"), char("memo", "Memo"),
                many2one("move_id", "account.move", "Journal Entry"), boolean("is_reconciled", "Is Reconciled", computed: true),
                boolean("is_matched", "Is Matched With a Bank Statement", computed: true),
                many2many("reconciled_invoice_ids", "account.move", "Reconciled Invoices"),
                many2many("invoice_ids", "account.move", "Invoices"),
                many2one("payment_method_line_id", "account.payment.method.line", "Payment Method"),
            ])
        payment.order = [("date", true), ("name", true)]
        list.append(payment)

        list.append(
            ModelSpec(
                "account.payment.register", "Pay",
                [
                    monetary("amount", "Amount"), many2one("currency_id", "res.currency", "Currency"),
                    many2one("journal_id", "account.journal", "Journal"), date("payment_date", "Payment Date"),
                    many2one("payment_method_line_id", "account.payment.method.line", "Payment Method"),
                    char("communication", "Memo"), many2one("partner_id", "res.partner", "Customer/Vendor"),
                    monetary("payment_difference", "Payment Difference", computed: true),
                    many2many("line_ids", "account.move.line", "Journal items"), boolean("group_payment", "Group Payments", default: true),
                    selection("payment_type", "Payment Type", [("outbound", "Send"), ("inbound", "Receive")], default: "inbound"),
                    selection("partner_type", "Partner Type", [("customer", "Customer"), ("supplier", "Vendor")], default: "customer"),
                ]))

        list.append(
            ModelSpec(
                "account.move.reversal", "Account Move Reversal",
                [
                    many2many("move_ids", "account.move", "Move"), many2many("new_move_ids", "account.move", "New Move"),
                    date("date", "Reversal date"), char("reason", "Reason displayed on Credit Note"),
                    many2one("journal_id", "account.journal", "Journal", required: true),
                ]))

        list.append(
            ModelSpec(
                "decimal.precision", "Decimal Precision",
                [char("name", "Usage", required: true), integer("digits", "Digits", default: 2)]))

        // The model registry itself, which clients query to see which apps a database has.
        list.append(
            ModelSpec(
                "ir.model", "Models",
                [char("model", "Model", required: true), char("name", "Model Description", required: true)]))
        return Dictionary(uniqueKeysWithValues: list.map { ($0.name, $0) })
    }
}
