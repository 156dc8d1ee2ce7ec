/// A stateful, in-memory Zendesk Support over real HTTP (to be built: see docs/simulators/zendesk.md).
public final class ZendeskSimulator: Sendable {
    public init() {}
}
