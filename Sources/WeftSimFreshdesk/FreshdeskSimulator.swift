/// A stateful, in-memory Freshdesk over real HTTP (to be built: see docs/simulators/freshdesk.md).
public final class FreshdeskSimulator: Sendable {
    public init() {}
}
