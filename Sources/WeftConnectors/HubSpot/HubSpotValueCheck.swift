public import Logging
import NIOHTTP1
public import WeftCore

extension HubSpotClient {
    /// The properties API's prefix: the objects prefix with `objects` replaced by `properties` (`/crm/v3/objects` →
    /// `/crm/v3/properties`, `/crm/objects/2025-09` → `/crm/properties/2025-09`).
    var propertiesPath: String {
        configuration.objectsPath.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0 == "objects" ? "properties" : String($0) }.joined(separator: "/")
    }

    /// `GET {properties}/{type}/{name}`: the internal values of the property's options when it is a dropdown
    /// (`type: enumeration`), `[]` for any other property, `nil` when the type has no such property (404
    /// `OBJECT_NOT_FOUND`; another 404, such as a path HubSpot does not serve, is thrown, not taken for a missing
    /// property).
    package func propertyOptions(_ type: HubSpotObjectType, _ name: String, logger: Logger) async throws(HubSpotAPIError)
        -> [String]?
    {
        let property: JSONValue
        do {
            property = try await send(
                .GET, "\(propertiesPath)/\(type.name)/\(FormEncoding.escape(name))", body: nil, type: nil, logger: logger)
        } catch  where error.kind == .notFound && error.category == "OBJECT_NOT_FOUND" {
            return nil
        }
        guard property["type"]?.stringValue == "enumeration" else { return [] }
        return (property["options"]?.arrayValue ?? []).compactMap { $0["value"]?.stringValue }
    }
}

extension HubSpotAccountReader {
    /// What keeps the account mapping's value maps from working, read from the portal's property definitions: a
    /// mapped property the companies do not have, and map values that are not options of a dropdown (HubSpot would
    /// refuse them when Weft writes them, and never show them). Each is a sentence naming the setting to fix. A
    /// property without a map is not read.
    public func valueMapProblems(system: SystemName, logger: Logger) async throws -> [String] {
        var problems: [String] = []
        let checks = [
            (mapping.segment, mapping.segmentValues, "segment_property", "segment_values"),
            (mapping.paymentTerms, mapping.paymentTermsValues, "payment_terms_property", "payment_terms_values"),
        ]
        for case (let property?, let map, let propertySetting, let mapSetting) in checks where !map.isEmpty {
            guard let options = try await client.propertyOptions(.companies, property, logger: logger) else {
                problems.append(
                    "HubSpot has no company property \(property) (systems.\(system).accounts.\(propertySetting)); create it "
                        + "in HubSpot (Settings ▸ Properties) or name another")
                continue
            }
            // A property that is not a dropdown takes any text: nothing to check the values against.
            guard !options.isEmpty else { continue }
            let missing = map.systemValues(notIn: options)
            if !missing.isEmpty {
                problems.append(
                    "systems.\(system).accounts.\(mapSetting) names \(ValueMap.describe(missing)), which the company "
                        + "property \(property) has no option for; name the options' internal values (HubSpot ▸ Settings ▸ "
                        + "Properties ▸ \(property): each option's internal value) or add the options in HubSpot")
            }
        }
        return problems
    }
}
