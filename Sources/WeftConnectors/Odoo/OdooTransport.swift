import Logging
import WeftCore

/// Moves one ORM call over the wire. Implementations differ only in encoding; results and errors are normalised.
protocol OdooTransport: Sendable {
    /// Executes the call. `None` results come back as `.null`; `create` results are left as the server sent them.
    func execute(_ call: OdooCall, logger: Logger) async throws(OdooError) -> JSONValue
    /// Asks the server for its version.
    func serverVersion(logger: Logger) async throws(OdooError) -> OdooServerVersion
}
