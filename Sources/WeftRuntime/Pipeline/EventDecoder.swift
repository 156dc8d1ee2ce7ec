public import WeftCore

/// Turns a stored inbox event of one source system into canonical changes.
public protocol EventDecoder: Sendable {
    /// Decodes one event. Throws when the payload cannot be understood (the event is then kept as failed).
    func decode(_ event: InboxEvent) throws -> DecodedEvent
}
