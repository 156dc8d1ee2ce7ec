import Foundation

/// Why a PostgreSQL store operation failed. The description names the operation and the database's own message, never
/// the connection URL's password or a payload.
public enum PostgresStoreError: Error, CustomStringConvertible, Sendable {
    /// The URL or settings are unusable.
    case configuration(String)
    /// The database could not be reached or refused the connection.
    case unavailable(String, String)
    case read(String, String)
    case write(String, String)
    case encoding(String, String)
    /// Stored data this version cannot read.
    case corrupt(String)
    /// The database schema is behind this version and migrations are not applied automatically.
    case schemaBehind([String])
    /// The database schema has migrations this version does not know (a newer Weft migrated it).
    case schemaAhead([String])

    public var description: String {
        switch self {
        case .configuration(let detail): "PostgreSQL store configuration: \(detail)"
        case .unavailable(let operation, let detail): "PostgreSQL unavailable (\(operation)): \(detail)"
        case .read(let operation, let detail): "PostgreSQL store read failed (\(operation)): \(detail)"
        case .write(let operation, let detail): "PostgreSQL store write failed (\(operation)): \(detail)"
        case .encoding(let operation, let detail): "PostgreSQL store could not \(operation): \(detail)"
        case .corrupt(let detail): "PostgreSQL store holds data this version cannot read: \(detail)"
        case .schemaBehind(let pending):
            "the PostgreSQL schema is behind this version of Weft (pending: \(pending.joined(separator: ", "))): "
                + "run `weft migrate --config FILE`"
        case .schemaAhead(let unknown):
            "the PostgreSQL schema was migrated by a newer Weft (\(unknown.joined(separator: ", "))): upgrade this node"
        }
    }
}
