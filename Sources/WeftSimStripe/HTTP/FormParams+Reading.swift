extension FormParams.Node {
    /// The top-level keys of a hash.
    var topLevelKeys: [String] { members?.map(\.0) ?? [] }

    /// Reads a member as a string (throws when it is a hash or list).
    func string(_ key: String, param: String? = nil) throws -> String? {
        guard let node = self[key] else { return nil }
        guard let value = node.string else { throw StripeError.invalidRequest("Invalid string: {...}", param: param ?? key) }
        return value
    }

    /// Reads a required, non-empty string member.
    func requiredString(_ key: String, param: String? = nil) throws -> String {
        guard let value = try string(key, param: param) else { throw StripeError.missingParam(param ?? key) }
        guard !value.isEmpty else { throw StripeError.invalidEmpty(param ?? key) }
        return value
    }

    /// Reads an integer member.
    func int(_ key: String, param: String? = nil) throws -> Int? {
        guard let text = try string(key, param: param) else { return nil }
        guard let value = Int(text) else { throw StripeError.invalidInteger(param ?? key, text) }
        return value
    }

    /// Reads a boolean member (`true`/`false`).
    func bool(_ key: String, param: String? = nil) throws -> Bool? {
        guard let text = try string(key, param: param) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: throw StripeError.invalidRequest("Invalid boolean: \(text)", param: param ?? key)
        }
    }

    /// Reads a member that must be one of `allowed`.
    func enumValue(_ key: String, _ allowed: [String], param: String? = nil) throws -> String? {
        guard let value = try string(key, param: param) else { return nil }
        guard allowed.contains(value) else { throw StripeError.invalidEnum(param ?? key, value, allowed: allowed) }
        return value
    }

    /// Reads a list of strings (`expand[]=a`, `enabled_events[0]=b`).
    func stringList(_ key: String) throws -> [String]? {
        guard let node = self[key] else { return nil }
        if let single = node.string { return single.isEmpty ? [] : [single] }
        guard let elements = node.elements else { throw StripeError.invalidArray(key) }
        return try elements.map {
            guard let value = $0.string else { throw StripeError.invalidArray(key) }
            return value
        }
    }

    /// Reads a list of hashes (`items[0][price]=…`).
    func hashList(_ key: String) throws -> [FormParams.Node]? {
        guard let node = self[key] else { return nil }
        if node.string == "" { return [] }
        guard let elements = node.elements, elements.allSatisfy({ $0.members != nil }) else {
            throw StripeError.invalidArray(key)
        }
        return elements
    }

    /// Applies `metadata[k]=v` to `metadata`: empty values remove a key, `metadata=` clears it.
    func applyMetadata(to object: inout JSON, key: String = "metadata") throws {
        guard let node = self[key] else { return }
        if node.string == "" {
            object[key] = [:]
            return
        }
        guard let members = node.members else { throw StripeError.invalidHash(key) }
        var metadata = object[key].object ?? JSONObject()
        for (name, value) in members {
            guard let text = value.string else { throw StripeError.invalidHash("\(key)[\(name)]") }
            metadata[name] = text.isEmpty ? nil : .string(text)
        }
        object[key] = .object(metadata)
    }

    /// Copies string members to `object` (empty string sets null, as Stripe unsets a field).
    func copyStrings(_ keys: [String], to object: inout JSON) throws {
        for key in keys {
            guard let value = try string(key) else { continue }
            object[key] = value.isEmpty ? .null : .string(value)
        }
    }

    /// Rejects top-level parameters outside `allowed` with Stripe's `parameter_unknown`.
    func rejectUnknown(_ allowed: Set<String>) throws {
        for (key, _) in members ?? [] where !allowed.contains(key) && key != "expand" {
            throw StripeError.unknownParam(key)
        }
    }
}
