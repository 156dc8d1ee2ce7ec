import WeftSimKit

extension HubSpotState {
    /// `GET {properties}/{type}` (`{"results":[…]}`, every property of the type) and `GET {properties}/{type}/{name}`
    /// (one property; 404 when the type has none of that name). A property is
    /// `{"name","label","type","fieldType","description","groupName","options","displayOrder","calculated",
    /// "externalOptions","hasUniqueValue","hidden","hubspotDefined","modificationMetadata","formField","createdAt",
    /// "updatedAt"}`; a dropdown's `options` are `[{"label","value","displayOrder","hidden"}]`.
    func readProperties(_ request: APIRequest) throws(HubSpotError) -> APIAnswer {
        guard request.method == "GET", (1...2).contains(request.segments.count) else { throw .notFound() }
        guard let type = ObjectType(path: request.segments[0]) else {
            throw HubSpotError(
                status: 400, category: "VALIDATION_ERROR", message: "Unable to infer object type from: \(request.segments[0])")
        }
        if request.segments.count == 1 {
            let names = type.standardProperties.union(customProperties[type, default: []]).sorted()
            return .ok(["results": .array(names.map { propertyJSON($0, of: type) })])
        }
        let name = request.segments[1]
        guard knows(name, on: type) else {
            throw .notFound("Unable to find property with name: \(name) for object type: \(type.typeID)")
        }
        return .ok(propertyJSON(name, of: type))
    }

    private func propertyJSON(_ name: String, of type: ObjectType) -> JSON {
        let options = enumerations[type]?[name]
        let standard = type.standardProperties.contains(name)
        let label = name.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
        var object = JSONObject([
            ("updatedAt", "2020-01-01T00:00:00Z"), ("createdAt", "2020-01-01T00:00:00Z"), ("name", .string(name)),
            ("label", .string(label)), ("type", options == nil ? "string" : "enumeration"),
            ("fieldType", options == nil ? "text" : "select"), ("description", ""),
            ("groupName", .string(type == .companies ? "companyinformation" : "\(type.singular)information")),
            (
                "options",
                .array(
                    (options ?? []).enumerated().map { index, option in
                        ["label": .string(option.label), "value": .string(option.value), "displayOrder": .int(index), "hidden": false]
                    })
            ),
            ("displayOrder", -1), ("calculated", false), ("externalOptions", false),
            ("hasUniqueValue", .bool(isUnique(name, on: type))), ("hidden", false),
        ])
        if standard { object["hubspotDefined"] = true }
        object["modificationMetadata"] = [
            "archivable": .bool(!standard), "readOnlyDefinition": .bool(standard),
            "readOnlyValue": .bool(type.readOnlyProperties.contains(name)),
        ]
        object["formField"] = true
        return .object(object)
    }
}
