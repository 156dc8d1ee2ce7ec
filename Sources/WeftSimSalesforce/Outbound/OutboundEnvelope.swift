import Foundation
import WeftSimKit

/// The SOAP 1.1 `notifications` message of Outbound Messaging (namespace `http://soap.sforce.com/2005/09/outbound`,
/// sObjects in `urn:sobject.enterprise.soap.sforce.com`).
enum OutboundEnvelope {
    struct Item {
        var notificationID: String
        var type: String
        /// (field, value) in the order sent; `Id` first.
        var fields: [(String, JSON, FieldKind)]
    }

    static func render(organizationID: String, actionID: String, instanceURL: String, apiVersion: String, items: [Item]) -> String {
        let org15 = String(organizationID.prefix(15))
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"#
        xml += #"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" "#
        xml += #"xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#
        xml += "<soapenv:Body>"
        xml += #"<notifications xmlns="http://soap.sforce.com/2005/09/outbound">"#
        xml += "<OrganizationId>\(organizationID)</OrganizationId>"
        xml += "<ActionId>\(actionID)</ActionId>"
        xml += #"<SessionId xsi:nil="true"/>"#
        xml += "<EnterpriseUrl>\(escape(instanceURL))/services/Soap/c/\(apiVersion)/\(org15)</EnterpriseUrl>"
        xml += "<PartnerUrl>\(escape(instanceURL))/services/Soap/u/\(apiVersion)/\(org15)</PartnerUrl>"
        for item in items {
            xml += "<Notification><Id>\(item.notificationID)</Id>"
            xml += #"<sObject xsi:type="sf:\#(item.type)" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">"#
            for (name, value, kind) in item.fields {
                guard let text = text(value, kind: kind) else { continue }
                xml += "<sf:\(name)>\(escape(text))</sf:\(name)>"
            }
            xml += "</sObject></Notification>"
        }
        xml += "</notifications></soapenv:Body></soapenv:Envelope>"
        return xml
    }

    /// A field value as SOAP text (`nil` for a null value, which is left out).
    private static func text(_ value: JSON, kind: FieldKind) -> String? {
        switch value {
        case .null: return nil
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return String(number)
        case .double(let number): return String(number)
        case .string(let text):
            if kind == .datetime, let ms = SalesforceTime.parseDateTime(text) { return SalesforceTime.soap(ms) }
            return text
        default: return nil
        }
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Whether a listener's answer acknowledges the message: a `notificationsResponse` with `<Ack>true</Ack>` (any
    /// namespace prefix).
    static func isAck(_ body: [UInt8]) -> Bool {
        let text = String(decoding: body, as: UTF8.self).filter { !$0.isWhitespace }
        guard text.contains("notificationsResponse") else { return false }
        // Opening tags named Ack, with or without a prefix (<Ack>, <ns:Ack>), followed by true.
        for tag in text.components(separatedBy: "<").dropFirst() {
            let name = tag.prefix { $0 != ">" }
            guard !name.hasPrefix("/"), name == "Ack" || name.hasSuffix(":Ack") else { continue }
            if tag.dropFirst(name.count + 1).lowercased() == "true" { return true }
        }
        return false
    }

}
