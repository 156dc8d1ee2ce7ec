/// The govern stage: ownership, staleness and echo detection, applied field by field. Pure.
public struct Governor: Sendable {
    public var ownership: OwnershipRules

    public init(ownership: OwnershipRules) {
        self.ownership = ownership
    }

    /// The result of governing one change.
    public struct Result: Hashable, Sendable {
        /// The record after the change.
        public var state: RecordState
        /// Fields whose value changed.
        public var applied: [String]
        /// Fields the source does not own.
        public var unowned: [String]
        /// Fields older than what was applied.
        public var stale: [String]
        /// Fields equal to the current value (echoes and redeliveries).
        public var unchanged: [String]

        /// The change as a whole, for metrics: `applied`, `stale`, `unowned` or `echo`.
        public var verdict: Verdict {
            if !applied.isEmpty { return .applied }
            if !stale.isEmpty { return .stale }
            // `unowned` holds only real edits by a non-owner (an echo of the owner's value is `unchanged`).
            if !unowned.isEmpty { return .unowned }
            return .echo
        }
    }

    /// What a change amounted to.
    public enum Verdict: String, Sendable, Hashable, CaseIterable {
        case applied, stale, unowned, echo
    }

    /// Applies `change` from `source` to `current`.
    public func govern(_ change: CanonicalChange, from source: SystemName, onto current: RecordState?) -> Result {
        var state = current ?? RecordState()
        var result = Result(state: state, applied: [], unowned: [], stale: [], unchanged: [])
        if current == nil {
            // A new record is sized for every field at once rather than grown (and rehashed) as they are set. A held
            // one is left as it is: reserving would copy its tables even when nothing is applied.
            state.fields.reserveCapacity(change.fields.count)
            state.versions.reserveCapacity(change.fields.count)
            state.sources.reserveCapacity(change.fields.count)
        }
        for (field, value) in change.fields.sorted(by: { $0.key < $1.key }) {
            guard ownership.allows(source, toWrite: field, of: change.ref.kind) else {
                // A non-owner that shows the value Weft holds is an echo of Weft's own write (the owner's value,
                // written there), not an edit to drop.
                if (state.fields[field] ?? .null) == value {
                    result.unchanged.append(field)
                } else {
                    result.unowned.append(field)
                }
                continue
            }
            let version = change.version(of: field)
            if let appliedVersion = state.versions[field], version < appliedVersion {
                result.stale.append(field)
                continue
            }
            // A tie with the change that set the value held, from the same source: if this change replaced some other
            // value, it did not follow that one, so it came before it (its value is what the held one replaced).
            if let replaced = change.replaced[field], state.versions[field] == version, state.sources[field] == source,
                let held = state.fields[field], held != replaced, held != value
            {
                result.stale.append(field)
                continue
            }
            if state.fields[field] == value {
                // Same value: keep the newest version so a later stale change is still recognised as stale.
                if let appliedVersion = state.versions[field], appliedVersion < version { state.versions[field] = version }
                result.unchanged.append(field)
                continue
            }
            state.fields[field] = value
            state.versions[field] = version
            state.sources[field] = source
            result.applied.append(field)
        }
        result.state = state
        return result
    }
}
