/// A body that is not a well-formed XML-RPC call or response.
///
/// `description` names the problem and the byte offset only; the body itself is never included.
public struct XMLRPCError: Error, Sendable, Hashable {
    private enum Code: Sendable, Hashable {
        case malformedXML
        case unexpectedElement
        case invalidValue
    }

    private let code: Code
    /// What was wrong, without payload data.
    public let message: String
    /// Byte offset in the body where decoding stopped.
    public let offset: Int

    private init(code: Code, message: String, offset: Int) {
        self.code = code
        self.message = message
        self.offset = offset
    }

    static func malformed(_ message: String, at offset: Int) -> XMLRPCError {
        XMLRPCError(code: .malformedXML, message: message, offset: offset)
    }

    static func unexpected(_ message: String, at offset: Int) -> XMLRPCError {
        XMLRPCError(code: .unexpectedElement, message: message, offset: offset)
    }

    static func invalidValue(_ message: String, at offset: Int) -> XMLRPCError {
        XMLRPCError(code: .invalidValue, message: message, offset: offset)
    }

    /// `true` when the bytes are not well-formed XML (as opposed to valid XML with the wrong elements).
    public var isMalformedXML: Bool { code == .malformedXML }
}

extension XMLRPCError: CustomStringConvertible, CustomDebugStringConvertible {
    /// Safe to log: no body content.
    public var description: String { "XML-RPC decoding failed at byte \(offset): \(message)" }

    /// Same as `description` plus the error kind.
    public var debugDescription: String { "XMLRPCError(code: \(code), offset: \(offset), message: \(message))" }
}
