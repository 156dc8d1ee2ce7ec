public import WeftCore

/// One `Notification` of an Outbound Message: a record that met the workflow rule or flow criteria.
public struct SalesforceOutboundNotification: Sendable, Hashable {
    /// The notification `Id`: the dedupe key. Salesforce resends the same id when it retries (at-least-once delivery,
    /// any order, for up to 24 hours).
    public var id: String
    /// The sObject type from `xsi:type` (`Opportunity` for `sf:Opportunity`).
    public var objectType: String
    /// The record's `Id` field.
    public var recordID: String?
    /// The fields the Outbound Message was set up to send, by API name (`StageName`, `Weft_Key__c`), as strings as
    /// Salesforce wrote them (`120000.0`, `2024-03-31`, `true`); `xsi:nil` fields are `.null`. `Id` is included.
    public var fields: [String: JSONValue]

    public init(id: String, objectType: String, recordID: String?, fields: [String: JSONValue]) {
        self.id = id
        self.objectType = objectType
        self.recordID = recordID
        self.fields = fields
    }

    /// A field's text, `nil` when absent or nil.
    public subscript(field: String) -> String? { fields[field]?.stringValue }
}

/// A Salesforce Outbound Message: the SOAP 1.1 `notifications` call a workflow rule or flow sends to Weft's endpoint,
/// with up to 100 notifications. Parse it from the raw body, `verify(organizationID:)`, then answer `ackResponse`
/// (HTTP 200, `text/xml`) once the notifications are stored; anything else makes Salesforce retry the whole message.
public struct SalesforceOutboundMessage: Sendable, Hashable {
    /// The sending org's id (18 characters).
    public var organizationID: String
    /// The workflow action (Outbound Message) that sent this.
    public var actionID: String
    /// A session id for calling back, present only when the Outbound Message has "Send Session ID" checked. It is a
    /// live credential: never logged (not in `description`); Weft does not need it.
    public var sessionID: String?
    /// The SOAP API endpoints for calling back (enterprise and partner WSDL).
    public var enterpriseURL: String?
    public var partnerURL: String?
    public var notifications: [SalesforceOutboundNotification]

    public init(
        organizationID: String, actionID: String, sessionID: String? = nil, enterpriseURL: String? = nil,
        partnerURL: String? = nil, notifications: [SalesforceOutboundNotification]
    ) {
        self.organizationID = organizationID
        self.actionID = actionID
        self.sessionID = sessionID
        self.enterpriseURL = enterpriseURL
        self.partnerURL = partnerURL
        self.notifications = notifications
    }

    static let envelopeNamespace = "http://schemas.xmlsoap.org/soap/envelope/"
    static let outboundNamespace = "http://soap.sforce.com/2005/09/outbound"
    static let instanceNamespace = "http://www.w3.org/2001/XMLSchema-instance"

    /// The body Salesforce expects when the message was received: `notificationsResponse` with `Ack` true.
    public static let ackResponse =
        #"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>"#
        + #"<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>"#
        + #"</notificationsResponse></soapenv:Body></soapenv:Envelope>"#

    /// The content type of `ackResponse` and `faultResponse(_:)`.
    public static let responseContentType = "text/xml; charset=utf-8"

    /// A SOAP 1.1 fault refusing the message (send it with HTTP 500). `client` faults blame the message (wrong org,
    /// malformed); server faults say Weft could not store it. Salesforce retries either way until the message expires.
    public static func faultResponse(_ reason: String, client: Bool = true) -> String {
        #"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault>"#
            + "<faultcode>soapenv:\(client ? "Client" : "Server")</faultcode><faultstring>\(escaped(reason))</faultstring>"
            + "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    }

    /// Parses the raw request body.
    public static func parse(_ bytes: some Collection<UInt8>) throws(SalesforceOutboundMessageError)
        -> SalesforceOutboundMessage
    {
        let root: SOAPElement
        do {
            root = try SOAPScanner.parse(bytes)
        } catch {
            throw SalesforceOutboundMessageError(code: .malformed, detail: "\(error.reason) at byte \(error.offset)")
        }
        guard root.localName == "Envelope", root.namespace == envelopeNamespace else {
            throw SalesforceOutboundMessageError(code: .malformed, detail: "the document is not a SOAP 1.1 envelope")
        }
        guard let body = root.children.first(where: { $0.localName == "Body" && $0.namespace == envelopeNamespace }),
            let call = body.children.first(where: {
                $0.localName == "notifications" && $0.namespace == outboundNamespace
            })
        else {
            throw SalesforceOutboundMessageError(
                code: .malformed, detail: "the SOAP body holds no notifications element of the outbound namespace")
        }
        guard let organizationID = call.child("OrganizationId")?.text.trimmedXMLWhitespace, !organizationID.isEmpty,
            let actionID = call.child("ActionId")?.text.trimmedXMLWhitespace
        else {
            throw SalesforceOutboundMessageError(code: .malformed, detail: "OrganizationId or ActionId is missing")
        }
        var notifications: [SalesforceOutboundNotification] = []
        for (index, element) in call.children("Notification").enumerated() {
            guard let id = element.child("Id")?.text.trimmedXMLWhitespace, !id.isEmpty else {
                throw SalesforceOutboundMessageError(code: .malformed, detail: "notification \(index) has no Id")
            }
            guard let object = element.child("sObject") else {
                throw SalesforceOutboundMessageError(code: .malformed, detail: "notification \(index) has no sObject")
            }
            let type = object.attribute("type", namespace: instanceNamespace).map { qualified in
                qualified.split(separator: ":").last.map(String.init) ?? qualified
            }
            guard let type, !type.isEmpty else {
                throw SalesforceOutboundMessageError(
                    code: .malformed, detail: "the sObject of notification \(index) has no xsi:type")
            }
            var fields: [String: JSONValue] = [:]
            for field in object.children { fields[field.localName] = value(of: field) }
            notifications.append(
                SalesforceOutboundNotification(
                    id: id, objectType: type, recordID: fields["Id"]?.stringValue, fields: fields))
        }
        return SalesforceOutboundMessage(
            organizationID: organizationID, actionID: actionID, sessionID: optionalText(call.child("SessionId")),
            enterpriseURL: optionalText(call.child("EnterpriseUrl")), partnerURL: optionalText(call.child("PartnerUrl")),
            notifications: notifications)
    }

    /// Checks that the message comes from the configured org. Ids compare on their first 15 characters, case
    /// sensitively, so the 15- and 18-character forms of one id match. This is a routing check, not authentication:
    /// org ids are not secret (see docs/connectors/salesforce.md for securing the endpoint).
    public func verify(organizationID expected: String) throws(SalesforceOutboundMessageError) {
        let configured = expected.trimmedXMLWhitespace
        guard Self.isRecordID(configured) else {
            throw SalesforceOutboundMessageError(
                code: .organizationMismatch, detail: "the configured org id is not a 15- or 18-character Salesforce id")
        }
        guard Self.isRecordID(organizationID), organizationID.utf8.prefix(15).elementsEqual(configured.utf8.prefix(15))
        else {
            throw SalesforceOutboundMessageError(
                code: .organizationMismatch, detail: "the message's OrganizationId is not the configured org")
        }
    }

    /// Alphanumeric, 15 or 18 characters.
    static func isRecordID(_ text: String) -> Bool {
        (text.utf8.count == 15 || text.utf8.count == 18)
            && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
    }

    private static func isNil(_ element: SOAPElement) -> Bool {
        let flag = element.attribute("nil", namespace: instanceNamespace)?.trimmedXMLWhitespace
        return flag == "true" || flag == "1"
    }

    private static func optionalText(_ element: SOAPElement?) -> String? {
        guard let element, !isNil(element) else { return nil }
        let text = element.text.trimmedXMLWhitespace
        return text.isEmpty ? nil : text
    }

    /// A field: `.null` for `xsi:nil`, an object for a nested element (a related record), else its text.
    private static func value(of element: SOAPElement) -> JSONValue {
        if isNil(element) { return .null }
        if !element.children.isEmpty {
            var object: [String: JSONValue] = [:]
            for child in element.children { object[child.localName] = value(of: child) }
            return .object(object)
        }
        return .string(element.text)
    }

    private static func escaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}

extension SalesforceOutboundMessage: CustomStringConvertible {
    /// Org, action and notification ids; never the session id or field values.
    public var description: String {
        "SalesforceOutboundMessage(organization_id: \(organizationID), action_id: \(actionID), session_id: "
            + "\(sessionID == nil ? "nil" : "<redacted>"), notifications: \(notifications.map(\.id)))"
    }
}

extension String {
    fileprivate var trimmedXMLWhitespace: String {
        let view = utf8
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        guard let first = view.firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = view.lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}
