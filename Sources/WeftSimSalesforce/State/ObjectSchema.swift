import WeftSimKit

/// The SOAP/describe type of a field.
enum FieldKind: String, Sendable, Hashable {
    case id, string, textarea, picklist, email, phone, url, boolean, int, double, currency, percent, date, datetime, reference

    var isText: Bool {
        switch self {
        case .string, .textarea, .picklist, .email, .phone, .url: true
        default: false
        }
    }

    var isNumber: Bool { self == .int || self == .double || self == .currency || self == .percent }
    var isID: Bool { self == .id || self == .reference }
}

/// One field of an sObject.
struct FieldDef: Sendable {
    var name: String
    var kind: FieldKind
    var label: String
    var createable = true
    var updateable = true
    /// Needed on insert (and never nillable on update).
    var required = false
    var referenceTo: String?
    var relationshipName: String?
    var externalID = false
    var unique = false
    var custom = false
    /// A custom picklist's values, and whether other values are refused.
    var picklistValues: [String] = []
    /// Labels of picklist values that differ from the value (a country code's name).
    var picklistLabels: [String: String] = [:]
    var restrictedPicklist = false
    /// The longest text the field holds (`nil`: its kind's default).
    var length: Int?

    /// The longest text the field holds: its own length, else that of its kind (text, picklist and URL 255, phone 40,
    /// email 80, long text 32,000), as Salesforce's field reference gives them.
    var maxLength: Int? {
        if let length { return length }
        switch kind {
        case .string, .picklist, .url: return 255
        case .phone: return 40
        case .email: return 80
        case .textarea: return 32_000
        default: return nil
        }
    }

    /// Standard fields shorter than their kind's default (Salesforce's Object Reference: Account, Contact, Opportunity).
    static let standardLengths: [String: [String: Int]] = [
        "Account": [
            "BillingCity": 40, "BillingState": 80, "BillingPostalCode": 20, "BillingCountry": 80, "ShippingCity": 40,
            "ShippingState": 80, "ShippingPostalCode": 20, "ShippingCountry": 80, "AccountNumber": 40, "BillingStreet": 255,
            "ShippingStreet": 255,
        ],
        "Contact": [
            "LastName": 80, "FirstName": 40, "MailingCity": 40, "MailingState": 80, "MailingPostalCode": 20, "MailingCountry": 80,
            "MailingStreet": 255, "Title": 128, "Department": 80,
        ],
        "Opportunity": ["Name": 120],
    ]
}

/// A child relationship (`Opportunity.OpportunityLineItems`).
struct ChildRelationship: Sendable {
    var name: String
    var childType: String
    var field: String
}

/// The describe of one sObject: its fields in order, its key prefix and child relationships.
struct ObjectSchema: Sendable {
    var name: String
    var label: String
    var labelPlural: String
    var keyPrefix: String
    private(set) var fields: [FieldDef] = []
    private var index: [String: Int] = [:]
    var children: [ChildRelationship] = []

    init(name: String, label: String, labelPlural: String, keyPrefix: String) {
        self.name = name
        self.label = label
        self.labelPlural = labelPlural
        self.keyPrefix = keyPrefix
    }

    mutating func add(_ field: FieldDef) {
        var field = field
        if field.length == nil, let length = FieldDef.standardLengths[name]?[field.name] { field.length = length }
        index[field.name.lowercased()] = fields.count
        fields.append(field)
    }

    /// The field named `name` (case-insensitive, as the API is).
    func field(_ name: String) -> FieldDef? { index[name.lowercased()].map { fields[$0] } }

    /// The reference field whose relationship is `name` (`Account` on Opportunity).
    func relationship(_ name: String) -> FieldDef? {
        fields.first { $0.relationshipName?.lowercased() == name.lowercased() }
    }

    func child(_ name: String) -> ChildRelationship? { children.first { $0.name.lowercased() == name.lowercased() } }
}

/// The org's schema: the standard objects a connector needs, the org's custom fields and currencies.
struct Schema: Sendable {
    private(set) var objects: [String: ObjectSchema] = [:]
    private var byLowercase: [String: String] = [:]
    private(set) var byPrefix: [String: String] = [:]

    func object(_ name: String) -> ObjectSchema? { byLowercase[name.lowercased()].flatMap { objects[$0] } }

    /// The object whose ids start with the key prefix of `id`.
    func object(forID id: String) -> ObjectSchema? { byPrefix[String(id.prefix(3))].flatMap { objects[$0] } }

    var names: [String] { objects.keys.sorted() }

    private mutating func register(_ object: ObjectSchema) {
        objects[object.name] = object
        byLowercase[object.name.lowercased()] = object.name
        byPrefix[object.keyPrefix] = object.name
    }

    init(customFields: [String: [SalesforceSimulator.CustomField]], multiCurrency: Bool, addressPicklists: Bool = false) {
        func system(_ object: inout ObjectSchema) {
            object.add(FieldDef(name: "CreatedDate", kind: .datetime, label: "Created Date", createable: false, updateable: false))
            object.add(
                FieldDef(
                    name: "CreatedById", kind: .reference, label: "Created By ID", createable: false, updateable: false,
                    referenceTo: "User", relationshipName: "CreatedBy"))
            object.add(
                FieldDef(name: "LastModifiedDate", kind: .datetime, label: "Last Modified Date", createable: false, updateable: false))
            object.add(
                FieldDef(
                    name: "LastModifiedById", kind: .reference, label: "Last Modified By ID", createable: false, updateable: false,
                    referenceTo: "User", relationshipName: "LastModifiedBy"))
            object.add(FieldDef(name: "SystemModstamp", kind: .datetime, label: "System Modstamp", createable: false, updateable: false))
        }
        func head(_ object: inout ObjectSchema) {
            object.add(FieldDef(name: "Id", kind: .id, label: "\(object.label) ID", createable: false, updateable: false))
            object.add(FieldDef(name: "IsDeleted", kind: .boolean, label: "Deleted", createable: false, updateable: false))
        }
        func owner(_ object: inout ObjectSchema) {
            object.add(FieldDef(name: "OwnerId", kind: .reference, label: "Owner ID", referenceTo: "User", relationshipName: "Owner"))
        }
        func currency(_ object: inout ObjectSchema, writable: Bool = true) {
            if multiCurrency {
                object.add(
                    FieldDef(
                        name: "CurrencyIsoCode", kind: .picklist, label: "Currency ISO Code", createable: writable, updateable: writable))
            }
        }
        func text(_ name: String, _ label: String, _ kind: FieldKind = .string) -> FieldDef {
            FieldDef(name: name, kind: kind, label: label)
        }
        /// An address's fields (`Street`, `City`, `State`, `PostalCode`, `Country`), and with the picklists turned on
        /// `StateCode` and `CountryCode`, picklists of ISO codes.
        func address(_ object: inout ObjectSchema, _ prefix: String) {
            for part in ["Street", "City", "State", "PostalCode", "Country"] {
                let label = "\(prefix) \(part == "State" ? "State/Province" : part == "PostalCode" ? "Zip/Postal Code" : part)"
                object.add(text(prefix + part, label, part == "Street" ? .textarea : .string))
            }
            guard addressPicklists else { return }
            // The state picklist depends on the country in Salesforce; here it lists every state's code once.
            var state = text(prefix + "StateCode", "\(prefix) State/Province Code", .picklist)
            for entry in AddressPicklists.states.keys.sorted().flatMap({ AddressPicklists.states[$0] ?? [] })
            where state.picklistLabels[entry.code] == nil {
                state.picklistValues.append(entry.code)
                state.picklistLabels[entry.code] = entry.name
            }
            var country = text(prefix + "CountryCode", "\(prefix) Country Code", .picklist)
            country.picklistValues = AddressPicklists.countries.map(\.code)
            country.picklistLabels = Dictionary(uniqueKeysWithValues: AddressPicklists.countries.map { ($0.code, $0.name) })
            object.add(state)
            object.add(country)
        }

        var account = ObjectSchema(name: "Account", label: "Account", labelPlural: "Accounts", keyPrefix: "001")
        head(&account)
        account.add(FieldDef(name: "Name", kind: .string, label: "Account Name", required: true))
        account.add(text("Type", "Account Type", .picklist))
        account.add(
            FieldDef(name: "ParentId", kind: .reference, label: "Parent Account ID", referenceTo: "Account", relationshipName: "Parent"))
        for prefix in ["Billing", "Shipping"] { address(&account, prefix) }
        account.add(text("Phone", "Account Phone", .phone))
        account.add(text("Website", "Website", .url))
        // The standard Industry picklist's values as an org ships them; not restricted (the API stores others).
        var industry = text("Industry", "Industry", .picklist)
        industry.picklistValues = [
            "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications", "Construction", "Consulting",
            "Education", "Electronics", "Energy", "Engineering", "Entertainment", "Environmental", "Finance", "Food & Beverage",
            "Government", "Healthcare", "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media", "Not For Profit",
            "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation", "Utilities", "Other",
        ]
        account.add(industry)
        account.add(FieldDef(name: "AnnualRevenue", kind: .currency, label: "Annual Revenue"))
        account.add(FieldDef(name: "NumberOfEmployees", kind: .int, label: "Employees"))
        account.add(text("AccountNumber", "Account Number"))
        account.add(text("Description", "Account Description", .textarea))
        currency(&account)
        owner(&account)
        system(&account)
        account.children = [
            ChildRelationship(name: "Contacts", childType: "Contact", field: "AccountId"),
            ChildRelationship(name: "Opportunities", childType: "Opportunity", field: "AccountId"),
            ChildRelationship(name: "ChildAccounts", childType: "Account", field: "ParentId"),
        ]

        var contact = ObjectSchema(name: "Contact", label: "Contact", labelPlural: "Contacts", keyPrefix: "003")
        head(&contact)
        contact.add(FieldDef(name: "AccountId", kind: .reference, label: "Account ID", referenceTo: "Account", relationshipName: "Account"))
        contact.add(FieldDef(name: "LastName", kind: .string, label: "Last Name", required: true))
        contact.add(text("FirstName", "First Name"))
        contact.add(text("Salutation", "Salutation", .picklist))
        contact.add(FieldDef(name: "Name", kind: .string, label: "Full Name", createable: false, updateable: false))
        address(&contact, "Mailing")
        contact.add(text("Phone", "Business Phone", .phone))
        contact.add(text("MobilePhone", "Mobile Phone", .phone))
        contact.add(text("Email", "Email", .email))
        contact.add(text("Title", "Title"))
        contact.add(text("Department", "Department"))
        contact.add(text("Description", "Contact Description", .textarea))
        currency(&contact)
        owner(&contact)
        system(&contact)
        contact.children = [ChildRelationship(name: "OpportunityContactRoles", childType: "OpportunityContactRole", field: "ContactId")]

        var opportunity = ObjectSchema(name: "Opportunity", label: "Opportunity", labelPlural: "Opportunities", keyPrefix: "006")
        head(&opportunity)
        opportunity.add(
            FieldDef(name: "AccountId", kind: .reference, label: "Account ID", referenceTo: "Account", relationshipName: "Account"))
        opportunity.add(FieldDef(name: "Name", kind: .string, label: "Name", required: true))
        opportunity.add(text("Description", "Description", .textarea))
        opportunity.add(FieldDef(name: "StageName", kind: .picklist, label: "Stage", required: true))
        opportunity.add(FieldDef(name: "Amount", kind: .currency, label: "Amount"))
        opportunity.add(FieldDef(name: "Probability", kind: .percent, label: "Probability (%)"))
        opportunity.add(FieldDef(name: "CloseDate", kind: .date, label: "Close Date", required: true))
        opportunity.add(text("Type", "Opportunity Type", .picklist))
        opportunity.add(text("NextStep", "Next Step"))
        opportunity.add(text("LeadSource", "Lead Source", .picklist))
        opportunity.add(FieldDef(name: "IsClosed", kind: .boolean, label: "Closed", createable: false, updateable: false))
        opportunity.add(FieldDef(name: "IsWon", kind: .boolean, label: "Won", createable: false, updateable: false))
        opportunity.add(
            FieldDef(name: "ForecastCategory", kind: .picklist, label: "Forecast Category", createable: false, updateable: false))
        opportunity.add(text("ForecastCategoryName", "Forecast Category", .picklist))
        currency(&opportunity)
        opportunity.add(
            FieldDef(name: "HasOpportunityLineItem", kind: .boolean, label: "Has Line Item", createable: false, updateable: false))
        opportunity.add(
            FieldDef(
                name: "Pricebook2Id", kind: .reference, label: "Price Book ID", referenceTo: "Pricebook2", relationshipName: "Pricebook2"))
        owner(&opportunity)
        system(&opportunity)
        opportunity.children = [
            ChildRelationship(name: "OpportunityLineItems", childType: "OpportunityLineItem", field: "OpportunityId"),
            ChildRelationship(name: "OpportunityContactRoles", childType: "OpportunityContactRole", field: "OpportunityId"),
        ]

        var product = ObjectSchema(name: "Product2", label: "Product", labelPlural: "Products", keyPrefix: "01t")
        head(&product)
        product.add(FieldDef(name: "Name", kind: .string, label: "Product Name", required: true))
        product.add(text("ProductCode", "Product Code"))
        product.add(text("Description", "Product Description", .textarea))
        product.add(FieldDef(name: "IsActive", kind: .boolean, label: "Active"))
        product.add(text("Family", "Product Family", .picklist))
        product.add(text("QuantityUnitOfMeasure", "Quantity Unit Of Measure", .picklist))
        currency(&product)
        system(&product)
        product.children = [ChildRelationship(name: "PricebookEntries", childType: "PricebookEntry", field: "Product2Id")]

        var pricebook = ObjectSchema(name: "Pricebook2", label: "Price Book", labelPlural: "Price Books", keyPrefix: "01s")
        head(&pricebook)
        pricebook.add(FieldDef(name: "Name", kind: .string, label: "Price Book Name", required: true))
        pricebook.add(FieldDef(name: "IsActive", kind: .boolean, label: "Active"))
        pricebook.add(FieldDef(name: "IsStandard", kind: .boolean, label: "Is Standard Price Book", createable: false, updateable: false))
        pricebook.add(text("Description", "Description", .textarea))
        system(&pricebook)
        pricebook.children = [ChildRelationship(name: "PricebookEntries", childType: "PricebookEntry", field: "Pricebook2Id")]

        var entry = ObjectSchema(name: "PricebookEntry", label: "Price Book Entry", labelPlural: "Price Book Entries", keyPrefix: "01u")
        head(&entry)
        entry.add(FieldDef(name: "Name", kind: .string, label: "Product Name", createable: false, updateable: false))
        entry.add(
            FieldDef(
                name: "Pricebook2Id", kind: .reference, label: "Price Book ID", updateable: false, required: true,
                referenceTo: "Pricebook2", relationshipName: "Pricebook2"))
        entry.add(
            FieldDef(
                name: "Product2Id", kind: .reference, label: "Product ID", updateable: false, required: true, referenceTo: "Product2",
                relationshipName: "Product2"))
        entry.add(FieldDef(name: "UnitPrice", kind: .currency, label: "List Price", required: true))
        entry.add(FieldDef(name: "IsActive", kind: .boolean, label: "Active"))
        entry.add(FieldDef(name: "UseStandardPrice", kind: .boolean, label: "Use Standard Price"))
        entry.add(FieldDef(name: "ProductCode", kind: .string, label: "Product Code", createable: false, updateable: false))
        currency(&entry, writable: true)
        system(&entry)

        var line = ObjectSchema(
            name: "OpportunityLineItem", label: "Opportunity Product", labelPlural: "Opportunity Product", keyPrefix: "00k")
        head(&line)
        line.add(
            FieldDef(
                name: "OpportunityId", kind: .reference, label: "Opportunity ID", updateable: false, required: true,
                referenceTo: "Opportunity", relationshipName: "Opportunity"))
        line.add(FieldDef(name: "SortOrder", kind: .int, label: "Sort Order"))
        line.add(
            FieldDef(
                name: "PricebookEntryId", kind: .reference, label: "Price Book Entry ID", updateable: false, referenceTo: "PricebookEntry",
                relationshipName: "PricebookEntry"))
        line.add(
            FieldDef(
                name: "Product2Id", kind: .reference, label: "Product ID", updateable: false, referenceTo: "Product2",
                relationshipName: "Product2"))
        line.add(FieldDef(name: "ProductCode", kind: .string, label: "Product Code", createable: false, updateable: false))
        line.add(FieldDef(name: "Name", kind: .string, label: "Opportunity Product Name", createable: false, updateable: false))
        currency(&line, writable: false)
        line.add(FieldDef(name: "Quantity", kind: .double, label: "Quantity", required: true))
        line.add(FieldDef(name: "TotalPrice", kind: .currency, label: "Total Price"))
        line.add(FieldDef(name: "UnitPrice", kind: .currency, label: "Sales Price"))
        line.add(FieldDef(name: "ListPrice", kind: .currency, label: "List Price", createable: false, updateable: false))
        line.add(FieldDef(name: "ServiceDate", kind: .date, label: "Date"))
        line.add(text("Description", "Line Description"))
        system(&line)

        // The contacts of an opportunity and their roles; at most one is the primary contact.
        var role = ObjectSchema(
            name: "OpportunityContactRole", label: "Opportunity Contact Role", labelPlural: "Opportunity Contact Role",
            keyPrefix: "00K")
        head(&role)
        role.add(
            FieldDef(
                name: "OpportunityId", kind: .reference, label: "Opportunity ID", updateable: false, required: true,
                referenceTo: "Opportunity", relationshipName: "Opportunity"))
        role.add(
            FieldDef(
                name: "ContactId", kind: .reference, label: "Contact ID", required: true, referenceTo: "Contact",
                relationshipName: "Contact"))
        role.add(text("Role", "Role", .picklist))
        role.add(FieldDef(name: "IsPrimary", kind: .boolean, label: "Primary"))
        system(&role)

        // The org's users. They are deactivated (`IsActive`), never deleted, so User has no `IsDeleted`; `Name` is
        // First + Last Name (read-only). Required on create as in a real org, except `ProfileId` (no Profile object
        // here). Queries also see the users the simulator is configured with (`SalesforceState.readable`).
        var user = ObjectSchema(name: "User", label: "User", labelPlural: "Users", keyPrefix: "005")
        user.add(FieldDef(name: "Id", kind: .id, label: "User ID", createable: false, updateable: false))
        user.add(FieldDef(name: "Username", kind: .string, label: "Username", required: true, unique: true))
        user.add(FieldDef(name: "LastName", kind: .string, label: "Last Name", required: true))
        user.add(text("FirstName", "First Name"))
        user.add(FieldDef(name: "Name", kind: .string, label: "Full Name", createable: false, updateable: false))
        user.add(FieldDef(name: "Alias", kind: .string, label: "Alias", required: true))
        user.add(FieldDef(name: "Email", kind: .email, label: "Email", required: true))
        user.add(text("Title", "Title"))
        user.add(text("Phone", "Phone", .phone))
        user.add(FieldDef(name: "IsActive", kind: .boolean, label: "Active"))
        for (name, label) in [
            ("TimeZoneSidKey", "Time Zone"), ("LocaleSidKey", "Locale"), ("EmailEncodingKey", "Email Encoding"),
            ("LanguageLocaleKey", "Language"),
        ] {
            user.add(FieldDef(name: name, kind: .picklist, label: label, required: true))
        }
        system(&user)

        var objects = [account, contact, opportunity, product, pricebook, entry, line, role, user]
        for index in objects.indices {
            for custom in customFields[objects[index].name] ?? [] where objects[index].field(custom.name) == nil {
                objects[index].add(
                    FieldDef(
                        name: custom.name, kind: custom.type.kind, label: String(custom.name.dropLast(3)).replacingUnderscores,
                        externalID: custom.externalID, unique: custom.unique, custom: true,
                        picklistValues: custom.picklistValues, restrictedPicklist: custom.restricted && custom.type.kind == .picklist))
            }
        }
        for object in objects { register(object) }
    }
}

extension String {
    fileprivate var replacingUnderscores: String { split(separator: "_").joined(separator: " ") }
}
