/// One element of a parsed SOAP document, with namespaces resolved.
struct SOAPElement: Sendable {
    /// The local part of the name (`notifications`, `Id`).
    var localName: String
    /// The namespace URI the element's prefix (or the default namespace) is bound to.
    var namespace: String?
    /// Attributes as (namespace, local name, value).
    var attributes: [(namespace: String?, localName: String, value: String)]
    var children: [SOAPElement]
    /// The character data directly inside the element, entities and CDATA decoded.
    var text: String
    /// Prefix → namespace bindings in scope, for QName-valued attributes such as `xsi:type="sf:Opportunity"`.
    var scope: [String: String]

    func attribute(_ localName: String, namespace: String?) -> String? {
        attributes.first { $0.localName == localName && $0.namespace == namespace }?.value
    }

    func children(_ localName: String) -> [SOAPElement] { children.filter { $0.localName == localName } }

    func child(_ localName: String) -> SOAPElement? { children.first { $0.localName == localName } }
}

/// A small XML scanner over UTF-8 bytes for SOAP envelopes: elements, attributes, namespace prefixes (`xmlns`,
/// `xmlns:p`), the five predefined entities, character references, CDATA, comments and processing instructions.
/// Document type declarations are refused (no entity expansion), and nesting is bounded.
struct SOAPScanner {
    struct Failure: Error, Sendable {
        var reason: String
        var offset: Int
    }

    static let xmlnsNamespace = "http://www.w3.org/2000/xmlns/"
    static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"
    private static let maximumDepth = 64

    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: some Collection<UInt8>) {
        self.bytes = Array(bytes)
    }

    /// Parses the document and returns its root element.
    static func parse(_ bytes: some Collection<UInt8>) throws(Failure) -> SOAPElement {
        var scanner = SOAPScanner(bytes)
        return try scanner.document()
    }

    private mutating func document() throws(Failure) -> SOAPElement {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
        try skipMisc()
        let root = try element(scope: ["xml": Self.xmlNamespace], depth: 0)
        try skipMisc()
        guard position == bytes.count else { throw fail("content after the document element") }
        return root
    }

    /// Skips whitespace, comments and processing instructions outside the root; refuses a DOCTYPE.
    private mutating func skipMisc() throws(Failure) {
        while position < bytes.count {
            if bytes[position].isXMLWhitespace {
                position += 1
            } else if matches("<?") {
                try skip(past: Array("?>".utf8))
            } else if matches("<!--") {
                try skip(past: Array("-->".utf8))
            } else if matches("<!") {
                throw fail("document type declarations are not accepted")
            } else {
                return
            }
        }
    }

    private mutating func element(scope parentScope: [String: String], depth: Int) throws(Failure) -> SOAPElement {
        guard depth < Self.maximumDepth else { throw fail("elements nested too deeply") }
        guard position < bytes.count, bytes[position] == UInt8(ascii: "<") else { throw fail("expected an element") }
        position += 1
        let qualifiedName = try name()
        var rawAttributes: [(name: String, value: String)] = []
        var selfClosing = false
        while true {
            skipWhitespace()
            guard position < bytes.count else { throw fail("unterminated <\(qualifiedName)>") }
            if bytes[position] == UInt8(ascii: ">") {
                position += 1
                break
            }
            if matches("/>") {
                position += 2
                selfClosing = true
                break
            }
            let attributeName = try name()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "=") else {
                throw fail("attribute \(attributeName) without a value")
            }
            position += 1
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") || bytes[position] == UInt8(ascii: "'")
            else { throw fail("attribute \(attributeName) value is not quoted") }
            let quote = bytes[position]
            position += 1
            let value = try characters(until: quote)
            position += 1
            if rawAttributes.contains(where: { $0.name == attributeName }) {
                throw fail("attribute \(attributeName) repeated")
            }
            rawAttributes.append((attributeName, value))
        }

        var scope = parentScope
        for attribute in rawAttributes {
            if attribute.name == "xmlns" {
                scope[""] = attribute.value
            } else if attribute.name.hasPrefix("xmlns:") {
                scope[String(attribute.name.dropFirst(6))] = attribute.value
            }
        }
        let (prefix, localName) = Self.split(qualifiedName)
        let namespace: String?
        if let prefix {
            guard let bound = scope[prefix] else { throw fail("undeclared namespace prefix \(prefix)") }
            namespace = bound
        } else {
            namespace = scope[""].flatMap { $0.isEmpty ? nil : $0 }
        }
        var attributes: [(namespace: String?, localName: String, value: String)] = []
        for attribute in rawAttributes {
            let (attributePrefix, attributeLocal) = Self.split(attribute.name)
            if attribute.name == "xmlns" || attributePrefix == "xmlns" {
                attributes.append((Self.xmlnsNamespace, attribute.name == "xmlns" ? "xmlns" : attributeLocal, attribute.value))
            } else if let attributePrefix {
                guard let bound = scope[attributePrefix] else {
                    throw fail("undeclared namespace prefix \(attributePrefix)")
                }
                attributes.append((bound, attributeLocal, attribute.value))
            } else {
                // Unprefixed attributes are in no namespace.
                attributes.append((nil, attributeLocal, attribute.value))
            }
        }

        var result = SOAPElement(
            localName: localName, namespace: namespace, attributes: attributes, children: [],
            text: "", scope: scope)
        if selfClosing { return result }
        while true {
            result.text += try characters(until: UInt8(ascii: "<"))
            guard position < bytes.count else { throw fail("unterminated <\(qualifiedName)>") }
            if matches("</") {
                position += 2
                let closing = try name()
                guard closing == qualifiedName else { throw fail("</\(closing)> closes <\(qualifiedName)>") }
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ">") else {
                    throw fail("unterminated </\(closing)>")
                }
                position += 1
                return result
            } else if matches("<!--") {
                try skip(past: Array("-->".utf8))
            } else if matches("<?") {
                try skip(past: Array("?>".utf8))
            } else if matches("<![CDATA[") {
                position += 9
                let start = position
                try skip(past: Array("]]>".utf8))
                result.text += String(decoding: bytes[start..<(position - 3)], as: UTF8.self)
            } else if matches("<!") {
                throw fail("unexpected markup declaration")
            } else {
                result.children.append(try element(scope: scope, depth: depth + 1))
            }
        }
    }

    private static func split(_ qualifiedName: String) -> (prefix: String?, localName: String) {
        guard let colon = qualifiedName.firstIndex(of: ":") else { return (nil, qualifiedName) }
        return (String(qualifiedName[..<colon]), String(qualifiedName[qualifiedName.index(after: colon)...]))
    }

    // MARK: Bytes

    private mutating func name() throws(Failure) -> String {
        let start = position
        while position < bytes.count, bytes[position].isNameByte { position += 1 }
        guard position > start else { throw fail("expected a name") }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, bytes[position].isXMLWhitespace { position += 1 }
    }

    private func matches(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        return literal.withUTF8Buffer { buffer in
            for index in 0..<count where bytes[position + index] != buffer[index] { return false }
            return true
        }
    }

    private mutating func skip(past terminator: [UInt8]) throws(Failure) {
        let start = position
        while position + terminator.count <= bytes.count {
            if bytes[position..<(position + terminator.count)].elementsEqual(terminator) {
                position += terminator.count
                return
            }
            position += 1
        }
        position = start
        throw fail("unterminated markup")
    }

    /// Character data up to `terminator` (not consumed), with references decoded. A `<` inside an attribute value is
    /// an error.
    private mutating func characters(until terminator: UInt8) throws(Failure) -> String {
        var buffer: [UInt8] = []
        while position < bytes.count, bytes[position] != terminator {
            let byte = bytes[position]
            if byte == UInt8(ascii: "&") {
                try appendReference(to: &buffer)
            } else if byte == UInt8(ascii: "<") {
                throw fail("'<' in an attribute value")
            } else {
                buffer.append(byte)
                position += 1
            }
        }
        if terminator != UInt8(ascii: "<") && position >= bytes.count { throw fail("unterminated attribute value") }
        return String(decoding: buffer, as: UTF8.self)
    }

    private mutating func appendReference(to buffer: inout [UInt8]) throws(Failure) {
        let start = position
        position += 1
        let nameStart = position
        while position < bytes.count, bytes[position] != UInt8(ascii: ";"), position - nameStart < 12 { position += 1 }
        guard position < bytes.count, bytes[position] == UInt8(ascii: ";") else {
            position = start
            throw fail("unterminated entity reference")
        }
        let reference = String(decoding: bytes[nameStart..<position], as: UTF8.self)
        position += 1
        switch reference {
        case "amp": buffer.append(UInt8(ascii: "&"))
        case "lt": buffer.append(UInt8(ascii: "<"))
        case "gt": buffer.append(UInt8(ascii: ">"))
        case "quot": buffer.append(UInt8(ascii: "\""))
        case "apos": buffer.append(UInt8(ascii: "'"))
        case _ where reference.hasPrefix("#"):
            let digits = reference.dropFirst()
            let value: UInt32? =
                digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
            guard let value, let scalar = Unicode.Scalar(value) else {
                position = start
                throw fail("invalid character reference")
            }
            buffer.append(contentsOf: String(Character(scalar)).utf8)
        default:
            position = start
            throw fail("unknown entity reference")
        }
    }

    private func fail(_ reason: String) -> Failure { Failure(reason: reason, offset: position) }
}

extension UInt8 {
    fileprivate var isXMLWhitespace: Bool { self == 0x20 || self == 0x0A || self == 0x0D || self == 0x09 }

    fileprivate var isNameByte: Bool {
        switch self {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"),
            UInt8(ascii: ":"):
            true
        default: self >= 0x80
        }
    }
}
