/// A configured flow: changes from `source` are routed to `target`.
public struct Flow: Hashable, Sendable {
    public var name: String
    public var source: SystemName
    public var target: SystemName

    public init(name: String, source: SystemName, target: SystemName) {
        self.name = name
        self.source = source
        self.target = target
    }
}
