/// The CRM object types the simulator holds, with their path names, type ids and standard properties.
enum ObjectType: String, Sendable, Hashable, CaseIterable {
    case contacts, companies, deals, lineItems = "line_items"

    /// `contacts`, `contact`, `0-1`… (HubSpot accepts the plural, the singular and the type id in paths).
    init?(path: String) {
        switch path.lowercased() {
        case "contacts", "contact", "0-1": self = .contacts
        case "companies", "company", "0-2": self = .companies
        case "deals", "deal", "0-3": self = .deals
        case "line_items", "line_item", "lineitems", "0-8": self = .lineItems
        default: return nil
        }
    }

    /// The object type id (`0-1` contacts, `0-2` companies, `0-3` deals, `0-8` line items).
    var typeID: String {
        switch self {
        case .contacts: "0-1"
        case .companies: "0-2"
        case .deals: "0-3"
        case .lineItems: "0-8"
        }
    }

    /// The singular name webhook subscription types use (`contact.creation`, `line_item.propertyChange`).
    var singular: String {
        switch self {
        case .contacts: "contact"
        case .companies: "company"
        case .deals: "deal"
        case .lineItems: "line_item"
        }
    }

    /// The upper-case name association type names use (`CONTACT_TO_COMPANY`).
    var upper: String { singular.uppercased() }

    /// Contacts keep their modification time in `lastmodifieddate`; the other objects in `hs_lastmodifieddate`.
    var modifiedProperty: String { self == .contacts ? "lastmodifieddate" : "hs_lastmodifieddate" }

    /// Returned when a read names no `properties` (the search docs' "default returned properties").
    var defaultProperties: [String] {
        switch self {
        case .contacts: ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"]
        case .companies: ["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"]
        case .deals:
            ["amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id", "pipeline"]
        case .lineItems: ["createdate", "hs_lastmodifieddate", "hs_object_id", "name", "price", "quantity"]
        }
    }

    /// Properties the system maintains; writing them is a `READ_ONLY_VALUE` error.
    var readOnlyProperties: Set<String> {
        ["hs_object_id", "createdate", modifiedProperty, "hs_merged_object_ids"]
    }

    /// The standard properties a portal has (a representative subset of HubSpot's defaults).
    var standardProperties: Set<String> { Self.standard[self] ?? [] }

    private static let standard: [ObjectType: Set<String>] = Dictionary(
        uniqueKeysWithValues: allCases.map { ($0, $0.makeStandardProperties()) })

    private func makeStandardProperties() -> Set<String> {
        let common: Set<String> = ["hs_object_id", "createdate", modifiedProperty, "hubspot_owner_id", "hs_merged_object_ids"]
        switch self {
        case .contacts:
            return common.union([
                "email", "firstname", "lastname", "phone", "mobilephone", "company", "jobtitle", "website", "address",
                "city", "state", "zip", "country", "lifecyclestage", "hs_lead_status",
            ])
        case .companies:
            return common.union([
                "name", "domain", "phone", "address", "address2", "city", "state", "zip", "country", "industry",
                "description", "website", "numberofemployees", "annualrevenue", "lifecyclestage", "type",
            ])
        case .deals:
            return common.union([
                "dealname", "amount", "closedate", "dealstage", "pipeline", "dealtype", "description",
                "deal_currency_code", "hs_priority", "hs_is_closed_won", "hs_is_closed",
            ])
        case .lineItems:
            return common.union([
                "name", "price", "quantity", "amount", "hs_sku", "hs_product_id", "description", "discount",
                "hs_discount_percentage", "tax", "recurringbillingfrequency", "hs_line_item_currency_code",
            ])
        }
    }

    /// Properties whose values are unique and can be used as `idProperty` (besides `hs_object_id`).
    var standardUniqueProperties: Set<String> { self == .contacts ? ["email"] : [] }
}
