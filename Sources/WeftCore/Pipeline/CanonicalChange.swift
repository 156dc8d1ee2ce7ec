/// A change to one canonical record, as a source reported it: the fields it sets, and their version.
public struct CanonicalChange: Hashable, Sendable {
    /// The record changed.
    public var ref: ExternalRef
    /// Field name → new value. Field names are the canonical record's property names (`name`, `status`, …).
    public var fields: [String: JSONValue]
    /// The version every field of this change carries, unless `fieldOrdinals` refines it.
    public var version: SourceVersion
    /// Per-field tie-breakers (e.g. `status` → lifecycle rank), so that equal instants still order.
    public var fieldOrdinals: [String: Int]
    /// For fields the source says this change changed, the value it replaced (Stripe's `previous_attributes`, mapped).
    /// Between two changes of one field at the same version, the one whose replaced value is not the value held is
    /// the older: the newer change replaced the older one's value.
    public var replaced: [String: JSONValue]

    public init(
        ref: ExternalRef, fields: [String: JSONValue], version: SourceVersion, fieldOrdinals: [String: Int] = [:],
        replaced: [String: JSONValue] = [:]
    ) {
        self.ref = ref
        self.fields = fields
        self.version = version
        self.fieldOrdinals = fieldOrdinals
        self.replaced = replaced
    }

    /// The version of one field of this change.
    public func version(of field: String) -> SourceVersion {
        guard let ordinal = fieldOrdinals[field] else { return version }
        return SourceVersion(millis: version.millis, ordinal: ordinal)
    }
}

/// What a connector's decoder makes of one inbox event.
public struct DecodedEvent: Hashable, Sendable {
    /// The entity whose aggregate the changes belong to (must equal the key the event was stored under).
    public var entityKey: EntityKey
    /// The changes, in the order they should apply.
    public var changes: [CanonicalChange]
    /// Set when the event type carries nothing Weft acts on; the event completes as `ignored`.
    public var ignoredReason: String?

    public init(entityKey: EntityKey, changes: [CanonicalChange], ignoredReason: String? = nil) {
        self.entityKey = entityKey
        self.changes = changes
        self.ignoredReason = ignoredReason
    }
}
