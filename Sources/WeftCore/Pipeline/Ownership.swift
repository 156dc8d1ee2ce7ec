/// Which system owns (is the system of record for) each canonical field.
///
/// Rules are keyed `kind.field` (e.g. `customer.address`) or `kind.*` for a whole kind. A field without a rule may be
/// written by any source. A change from a system that does not own the field is dropped and counted; a target that
/// owns a field is never overwritten by Weft after the record exists there.
public struct OwnershipRules: Hashable, Sendable {
    /// `kind.field` or `kind.*` → owning system.
    public private(set) var owners: [String: SystemName]

    public init(owners: [String: SystemName] = [:]) {
        self.owners = owners
    }

    /// The owner of `field` of `kind`, if a rule names one.
    public func owner(of kind: EntityKind, field: String) -> SystemName? {
        owners["\(kind.rawValue).\(field)"] ?? owners["\(kind.rawValue).*"]
    }

    /// May `system` write `field` of `kind`?
    public func allows(_ system: SystemName, toWrite field: String, of kind: EntityKind) -> Bool {
        guard let owner = owner(of: kind, field: field) else { return true }
        return owner == system
    }

    /// The fields of `kind` that `system` owns (by explicit rule).
    public func fields(ownedBy system: SystemName, kind: EntityKind) -> Set<String> {
        Set(
            owners.compactMap { key, owner in
                guard owner == system else { return nil }
                let parts = key.split(separator: ".", maxSplits: 1)
                guard parts.count == 2, parts[0] == kind.rawValue else { return nil }
                return String(parts[1])
            }
        )
    }
}
