/// A request that produced no usable HTTP response: timeout, connection failure, cancellation, oversize body.
///
/// `description` names the host and the failure only: never headers, credentials or bodies.
public struct HTTPTransportError: Error, Sendable, Hashable {
    private enum Code: Sendable, Hashable {
        case timeout
        case connection
        case cancelled
        case responseTooLarge
        case invalidURL
    }

    private let code: Code
    /// What failed, safe to log.
    public let message: String
    /// The underlying error's type and text as reported by the HTTP stack (no request data), for debugging.
    public let underlying: String?

    private init(code: Code, message: String, underlying: String?) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    static func timeout(host: String) -> Self {
        Self(code: .timeout, message: "request to \(host) timed out", underlying: nil)
    }

    static func connection(host: String, underlying: any Error) -> Self {
        Self(code: .connection, message: "could not reach \(host)", underlying: String(describing: underlying))
    }

    static func cancelled() -> Self {
        Self(code: .cancelled, message: "request cancelled", underlying: nil)
    }

    static func responseTooLarge(host: String, limit: Int) -> Self {
        Self(code: .responseTooLarge, message: "response from \(host) exceeds \(limit) bytes", underlying: nil)
    }

    static func invalidURL() -> Self {
        Self(code: .invalidURL, message: "invalid target URL", underlying: nil)
    }

    /// `true` when the deadline passed.
    public var isTimeout: Bool { code == .timeout }
    /// `true` when the calling task was cancelled.
    public var isCancellation: Bool { code == .cancelled }
    /// `true` when retrying later can help (timeouts and connection failures).
    public var isTransient: Bool { code == .timeout || code == .connection }
}

extension HTTPTransportError: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { message }
    public var debugDescription: String {
        "HTTPTransportError(code: \(code), message: \(message)\(underlying.map { ", underlying: \($0)" } ?? ""))"
    }
}
