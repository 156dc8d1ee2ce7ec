/// A stateful, in-memory Chargebee over real HTTP (to be built: see docs/simulators/chargebee.md).
public final class ChargebeeSimulator: Sendable {
    public init() {}
}
