/// A store failure. `description` is safe to log: it names the operation and SQLite's error (GRDB reports the SQL
/// but not its arguments), never row contents.
public struct SQLiteStoreError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private enum Code: String, Sendable {
        case open, write, read, encoding, corrupt, configuration
    }

    private let code: Code
    /// What went wrong, without data.
    public let message: String
    /// The underlying error, if any.
    public let cause: (any Error & Sendable)?

    private init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    static func open(_ path: String, _ cause: any Error & Sendable) -> SQLiteStoreError {
        SQLiteStoreError(.open, "cannot open the SQLite store at \(path)", cause: cause)
    }

    static func write(_ operation: String, _ cause: any Error & Sendable) -> SQLiteStoreError {
        SQLiteStoreError(.write, "\(operation) failed", cause: cause)
    }

    static func read(_ operation: String, _ cause: any Error & Sendable) -> SQLiteStoreError {
        SQLiteStoreError(.read, "\(operation) failed", cause: cause)
    }

    static func encoding(_ operation: String, _ cause: any Error & Sendable) -> SQLiteStoreError {
        SQLiteStoreError(.encoding, "\(operation) failed", cause: cause)
    }

    static func corrupt(_ message: String) -> SQLiteStoreError { SQLiteStoreError(.corrupt, message) }

    static func configuration(_ message: String) -> SQLiteStoreError { SQLiteStoreError(.configuration, message) }

    /// The store could not be opened (missing directory permissions, not a database, failed migration).
    public var isOpenFailure: Bool { code == .open || code == .configuration }

    public var description: String {
        guard let cause else { return message }
        // An encoding error can quote values; say only its type.
        if code == .encoding { return "\(message): \(type(of: cause))" }
        return "\(message): \(cause)"
    }

    public var debugDescription: String {
        "SQLiteStoreError(\(code.rawValue)): \(message)\(cause.map { " cause: \(String(reflecting: $0))" } ?? "")"
    }
}
