/// A store failure. `description` is safe to log: it names the operation and SQLite's error, never row contents.
public struct SQLiteStoreError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private enum Code: String, Sendable {
        case open, write, read, corrupt, configuration
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
    static func corrupt(_ message: String) -> SQLiteStoreError { SQLiteStoreError(.corrupt, message) }
    static func configuration(_ message: String) -> SQLiteStoreError { SQLiteStoreError(.configuration, message) }

    public var description: String {
        if let cause { return "\(message): \(Self.summary(of: cause))" }
        return message
    }

    public var debugDescription: String {
        "SQLiteStoreError(\(code.rawValue)): \(message)\(cause.map { " cause: \(String(reflecting: $0))" } ?? "")"
    }

    /// GRDB's error description includes the SQL but not the arguments, so it is safe to log.
    private static func summary(of error: any Error) -> String { "\(error)" }
}
