/// Why an Outbound Message was refused by ``SalesforceOutboundMessage/parse(_:)`` or
/// ``SalesforceOutboundMessage/verify(organizationID:)``.
///
/// The `description` is safe to log: it never contains field values or the session id.
public struct SalesforceOutboundMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case malformed, organizationMismatch
    }

    /// A stable error code to match on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The body is not a well-formed SOAP `notifications` envelope.
        public static let malformed = Code(.malformed)
        /// The message's `OrganizationId` is not the configured org.
        public static let organizationMismatch = Code(.organizationMismatch)

        public var description: String {
            switch base {
            case .malformed: "malformed"
            case .organizationMismatch: "organization_mismatch"
            }
        }
    }

    /// What went wrong.
    public var code: Code
    /// Where or why, without payload contents.
    public var detail: String

    public init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "Salesforce outbound message rejected (\(code)): \(detail)" }
}
