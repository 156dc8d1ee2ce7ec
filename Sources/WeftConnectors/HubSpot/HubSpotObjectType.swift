/// A HubSpot CRM object type as it appears in API paths.
public struct HubSpotObjectType: Sendable, Hashable, CustomStringConvertible {
    /// The path name (`contacts`, `companies`, `deals`, `line_items`).
    public let name: String
    /// The property holding the last modification time (`lastmodifieddate` for contacts, `hs_lastmodifieddate`
    /// for the others), used for incremental search.
    public let modifiedProperty: String

    /// - Parameters:
    ///   - name: the path name.
    ///   - modifiedProperty: the modification-time property.
    public init(name: String, modifiedProperty: String = "hs_lastmodifieddate") {
        self.name = name
        self.modifiedProperty = modifiedProperty
    }

    /// Contacts.
    public static let contacts = HubSpotObjectType(name: "contacts", modifiedProperty: "lastmodifieddate")
    /// Companies.
    public static let companies = HubSpotObjectType(name: "companies")
    /// Deals.
    public static let deals = HubSpotObjectType(name: "deals")
    /// Line items.
    public static let lineItems = HubSpotObjectType(name: "line_items")

    public var description: String { name }
}

/// A HubSpot-defined association type id (associations v4), from one object type to another.
public struct HubSpotAssociationType: Sendable, Hashable {
    /// `HUBSPOT_DEFINED` or `USER_DEFINED`.
    public var category: String
    /// The type id.
    public var typeID: Int

    /// - Parameters:
    ///   - category: the category (default `HUBSPOT_DEFINED`).
    ///   - typeID: the type id.
    public init(category: String = "HUBSPOT_DEFINED", typeID: Int) {
        self.category = category
        self.typeID = typeID
    }

    /// Contact to company (unlabelled).
    public static let contactToCompany = HubSpotAssociationType(typeID: 279)
    /// Contact to its primary company.
    public static let contactToPrimaryCompany = HubSpotAssociationType(typeID: 1)
    /// Deal to company (unlabelled).
    public static let dealToCompany = HubSpotAssociationType(typeID: 341)
    /// Deal to its primary company.
    public static let dealToPrimaryCompany = HubSpotAssociationType(typeID: 5)
    /// Deal to contact.
    public static let dealToContact = HubSpotAssociationType(typeID: 3)
    /// Line item to deal.
    public static let lineItemToDeal = HubSpotAssociationType(typeID: 20)
    /// Deal to line item.
    public static let dealToLineItem = HubSpotAssociationType(typeID: 19)
}
