import Foundation
public import Logging
import Synchronization

/// Writes one JSON object per log line: `{"ts","level","label","msg", metadata…}` with dotted metadata keys.
///
/// Weft never puts secrets or payload bodies into log messages or metadata; this handler additionally masks the
/// values of metadata keys that look like credentials, as a second line of defence.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String
    let sink: @Sendable (String) -> Void

    /// - Parameters:
    ///   - sink: receives each finished line (stderr by default).
    public init(label: String, level: Logger.Level = .info, sink: @escaping @Sendable (String) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static let sensitive = ["key", "secret", "token", "password", "authorization", "signature"]

    public func log(event: LogEvent) {
        let level = event.level
        let message = event.message
        let explicit = event.metadata
        var fields: [String: String] = [:]
        for (key, value) in self.metadata.merging(explicit ?? [:], uniquingKeysWith: { $1 }) {
            let lowered = key.lowercased()
            fields[key] = Self.sensitive.contains(where: { lowered.contains($0) }) ? "[redacted]" : "\(value)"
        }
        var line =
            "{\"ts\":\"\(Self.timestamp())\",\"level\":\"\(level)\",\"label\":\(Self.quote(label)),\"msg\":\(Self.quote(message.description))"
        for key in fields.keys.sorted() { line += ",\(Self.quote(key)):\(Self.quote(fields[key]!))" }
        line += "}"
        sink(line)
    }

    static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case let c where c.value < 0x20: result += String(format: "\\u%04x", c.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    private static let lock = Mutex(())

    /// Writes a line to standard error.
    public static let standardError: @Sendable (String) -> Void = { line in
        lock.withLock { _ in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}
