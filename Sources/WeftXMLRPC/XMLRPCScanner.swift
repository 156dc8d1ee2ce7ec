/// A small pull scanner over UTF-8 bytes for the XML subset XML-RPC uses: elements without meaningful attributes,
/// text with the five predefined entities and character references, CDATA, comments and processing instructions.
struct XMLRPCScanner {
    private let bytes: [UInt8]
    private var position: Int = 0

    init(_ bytes: some Collection<UInt8>) {
        self.bytes = Array(bytes)
    }

    // MARK: - Documents

    mutating func parseCall() throws(XMLRPCError) -> (method: String, params: [XMLRPCValue]) {
        try skipProlog()
        try expectOpen("methodCall")
        try skipMarkup()
        try expectOpen("methodName")
        let method = try readText().trimmedWhitespace
        try expectClose("methodName")
        try skipMarkup()
        var params: [XMLRPCValue] = []
        if peekOpen("params") {
            if try !expectOpen("params") {
                params = try parseParams()
            }
            try skipMarkup()
        }
        try expectClose("methodCall")
        try expectEnd()
        return (method, params)
    }

    mutating func parseResponse() throws(XMLRPCError) -> XMLRPCResponse {
        try skipProlog()
        try expectOpen("methodResponse")
        try skipMarkup()
        let response: XMLRPCResponse
        if peekOpen("fault") {
            try expectOpen("fault")
            try skipMarkup()
            let value = try parseValue()
            try skipMarkup()
            try expectClose("fault")
            guard case .structure(let members) = value, let code = members["faultCode"] else {
                throw .unexpected("fault without a faultCode struct", at: position)
            }
            let message: String
            switch members["faultString"] {
            case .string(let text)?: message = text
            case nil: message = ""
            case let other?: message = String(describing: other)
            }
            response = .fault(code: code, message: message)
        } else {
            let start = position
            if try expectOpen("params") {
                throw .unexpected("empty <params> in a response", at: start)
            }
            let params = try parseParams()
            guard params.count == 1 else {
                throw .unexpected("a response carries exactly one <param>, found \(params.count)", at: start)
            }
            response = .value(params[0])
        }
        try skipMarkup()
        try expectClose("methodResponse")
        try expectEnd()
        return response
    }

    /// After `<params>`: `<param><value>…</value></param>`… `</params>`.
    private mutating func parseParams() throws(XMLRPCError) -> [XMLRPCValue] {
        var params: [XMLRPCValue] = []
        while true {
            try skipMarkup()
            if peekClose("params") {
                try expectClose("params")
                return params
            }
            if try expectOpen("param") {
                throw .unexpected("empty <param>", at: position)
            }
            try skipMarkup()
            params.append(try parseValue())
            try skipMarkup()
            try expectClose("param")
        }
    }

    // MARK: - Values

    private mutating func parseValue() throws(XMLRPCError) -> XMLRPCValue {
        if try expectOpen("value") { return .string("") }
        let text = try readText()
        if peekClose("value") {
            try expectClose("value")
            return .string(text)
        }
        guard text.isXMLWhitespace else {
            throw .unexpected("text mixed with a typed <value>", at: position)
        }
        let start = position
        let (name, selfClosing) = try readOpenTag()
        let value: XMLRPCValue
        switch name {
        case "int", "i4", "i8", "ex:i8", "i1", "i2", "ex:i1", "ex:i2", "ex:int":
            let digits = selfClosing ? "" : try readText().trimmedWhitespace
            guard let number = Int64(digits.hasPrefix("+") ? String(digits.dropFirst()) : digits) else {
                throw .invalidValue("<\(name)> is not a 64-bit integer", at: start)
            }
            value = .int(number)
        case "boolean":
            switch selfClosing ? "" : try readText().trimmedWhitespace {
            case "1", "true": value = .bool(true)
            case "0", "false": value = .bool(false)
            default: throw .invalidValue("<boolean> is neither 0 nor 1", at: start)
            }
        case "string":
            value = .string(selfClosing ? "" : try readText())
        case "double", "ex:float", "ex:double":
            let digits = selfClosing ? "" : try readText().trimmedWhitespace
            guard let number = Double(digits) else {
                throw .invalidValue("<\(name)> is not a number", at: start)
            }
            value = .double(number)
        case "dateTime.iso8601", "ex:dateTime":
            value = .dateTime(selfClosing ? "" : try readText().trimmedWhitespace)
        case "base64":
            let text = selfClosing ? "" : try readText()
            guard let decoded = Base64.decode(text.utf8) else {
                throw .invalidValue("<base64> is not valid base64", at: start)
            }
            value = .base64(decoded)
        case "nil", "ex:nil":
            if !selfClosing { _ = try readText() }
            value = .nil
        case "array":
            value = .array(selfClosing ? [] : try parseArrayBody())
        case "struct":
            value = .structure(selfClosing ? [:] : try parseStructBody())
        default:
            throw .unexpected("unknown value type <\(name)>", at: start)
        }
        if !selfClosing && name != "array" && name != "struct" {
            try expectClose(name)
        }
        try skipMarkup()
        try expectClose("value")
        return value
    }

    /// After `<array>`: `<data>` values `</data>` `</array>`.
    private mutating func parseArrayBody() throws(XMLRPCError) -> [XMLRPCValue] {
        try skipMarkup()
        var elements: [XMLRPCValue] = []
        if try !expectOpen("data") {
            while true {
                try skipMarkup()
                if peekClose("data") { break }
                elements.append(try parseValue())
            }
            try expectClose("data")
            try skipMarkup()
        }
        try expectClose("array")
        return elements
    }

    /// After `<struct>`: `<member><name>…</name><value>…</value></member>`… `</struct>`.
    private mutating func parseStructBody() throws(XMLRPCError) -> [String: XMLRPCValue] {
        var members: [String: XMLRPCValue] = [:]
        while true {
            try skipMarkup()
            if peekClose("struct") {
                try expectClose("struct")
                return members
            }
            let start = position
            if try expectOpen("member") {
                throw .unexpected("empty <member>", at: start)
            }
            var name: String?
            var value: XMLRPCValue?
            while true {
                try skipMarkup()
                if peekClose("member") { break }
                if peekOpen("name") {
                    if try expectOpen("name") {
                        name = ""
                    } else {
                        name = try readText()
                        try expectClose("name")
                    }
                } else {
                    value = try parseValue()
                }
            }
            try expectClose("member")
            guard let name, let value else {
                throw .unexpected("<member> needs a <name> and a <value>", at: start)
            }
            members[name] = value
        }
    }

    // MARK: - Tags

    /// Skips the XML declaration, comments, processing instructions, a doctype, a BOM and whitespace.
    private mutating func skipProlog() throws(XMLRPCError) {
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { position = 3 }
        try skipMarkup()
    }

    /// Skips whitespace, comments and processing instructions between elements.
    private mutating func skipMarkup() throws(XMLRPCError) {
        while position < bytes.count {
            let byte = bytes[position]
            if byte.isXMLWhitespace {
                position += 1
            } else if byte == UInt8(ascii: "<") && position + 1 < bytes.count {
                let next = bytes[position + 1]
                if next == UInt8(ascii: "?") {
                    try skip(past: "?>")
                } else if next == UInt8(ascii: "!") {
                    if bytesEqual(at: position, "<!--") {
                        try skip(past: "-->")
                    } else if bytesEqual(at: position, "<![CDATA[") {
                        return
                    } else {
                        try skip(past: ">")
                    }
                } else {
                    return
                }
            } else {
                return
            }
        }
    }

    private mutating func skip(past terminator: StaticString) throws(XMLRPCError) {
        let start = position
        while position < bytes.count {
            if bytesEqual(at: position, terminator) {
                position += terminator.utf8CodeUnitCount
                return
            }
            position += 1
        }
        throw .malformed("unterminated markup", at: start)
    }

    private func bytesEqual(at offset: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard offset >= 0, offset + count <= bytes.count else { return false }
        return literal.withUTF8Buffer { buffer in
            for index in 0..<count where bytes[offset + index] != buffer[index] { return false }
            return true
        }
    }

    /// Reads `<name attr="…">` or `<name/>`; returns the name and whether it was self-closing.
    private mutating func readOpenTag() throws(XMLRPCError) -> (name: String, selfClosing: Bool) {
        let start = position
        guard position < bytes.count, bytes[position] == UInt8(ascii: "<") else {
            throw position < bytes.count
                ? .unexpected("expected an element", at: start) : .malformed("unexpected end of document", at: start)
        }
        position += 1
        let nameStart = position
        while position < bytes.count, bytes[position].isNameByte { position += 1 }
        guard position > nameStart else { throw .malformed("expected an element name", at: start) }
        let name = String(decoding: bytes[nameStart..<position], as: UTF8.self)
        var quote: UInt8?
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            if let open = quote {
                if byte == open { quote = nil }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
            } else if byte == UInt8(ascii: ">") {
                return (name, false)
            } else if byte == UInt8(ascii: "/") {
                guard position < bytes.count, bytes[position] == UInt8(ascii: ">") else {
                    throw .malformed("stray '/' in <\(name)>", at: position)
                }
                position += 1
                return (name, true)
            }
        }
        throw .malformed("unterminated <\(name)>", at: start)
    }

    /// Consumes `<name>` (or `<name/>`); returns whether it was self-closing.
    @discardableResult
    private mutating func expectOpen(_ name: String) throws(XMLRPCError) -> Bool {
        let start = position
        let tag = try readOpenTag()
        guard tag.name == name else {
            throw .unexpected("expected <\(name)>, found <\(tag.name)>", at: start)
        }
        return tag.selfClosing
    }

    private mutating func expectClose(_ name: String) throws(XMLRPCError) {
        let start = position
        guard peekCloseName() == name else {
            if position >= bytes.count { throw .malformed("unexpected end of document, expected </\(name)>", at: start) }
            throw .unexpected("expected </\(name)>", at: start)
        }
        position += 2 + name.utf8.count
        while position < bytes.count, bytes[position].isXMLWhitespace { position += 1 }
        guard position < bytes.count, bytes[position] == UInt8(ascii: ">") else {
            throw .malformed("unterminated </\(name)>", at: start)
        }
        position += 1
    }

    private func peekOpen(_ name: String) -> Bool {
        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "<"), bytes[position + 1] != UInt8(ascii: "/")
        else { return false }
        var index = position + 1
        var nameIterator = name.utf8.makeIterator()
        while let expected = nameIterator.next() {
            guard index < bytes.count, bytes[index] == expected else { return false }
            index += 1
        }
        return index < bytes.count && !bytes[index].isNameByte
    }

    private func peekClose(_ name: String) -> Bool {
        peekCloseName() == name
    }

    private func peekCloseName() -> String? {
        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "<"), bytes[position + 1] == UInt8(ascii: "/")
        else { return nil }
        var index = position + 2
        while index < bytes.count, bytes[index].isNameByte { index += 1 }
        return String(decoding: bytes[(position + 2)..<index], as: UTF8.self)
    }

    private mutating func expectEnd() throws(XMLRPCError) {
        try skipMarkup()
        guard position == bytes.count else {
            throw .malformed("content after the document element", at: position)
        }
    }

    // MARK: - Text

    /// Reads character data up to the next tag, resolving entities, character references and CDATA sections.
    private mutating func readText() throws(XMLRPCError) -> String {
        var start = position
        var decoded: [UInt8]?
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "<") {
                guard bytesEqual(at: position, "<![CDATA[") else { break }
                var buffer = decoded ?? []
                buffer.append(contentsOf: bytes[start..<position])
                position += 9
                let contentStart = position
                while position < bytes.count, !bytesEqual(at: position, "]]>") { position += 1 }
                guard position < bytes.count else { throw .malformed("unterminated CDATA section", at: contentStart) }
                buffer.append(contentsOf: bytes[contentStart..<position])
                position += 3
                start = position
                decoded = buffer
            } else if byte == UInt8(ascii: "&") {
                var buffer = decoded ?? []
                buffer.append(contentsOf: bytes[start..<position])
                try appendEntity(to: &buffer)
                start = position
                decoded = buffer
            } else {
                position += 1
            }
        }
        guard position < bytes.count else { throw .malformed("unexpected end of document in text", at: start) }
        if var buffer = decoded {
            buffer.append(contentsOf: bytes[start..<position])
            return String(decoding: buffer, as: UTF8.self)
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    private mutating func appendEntity(to buffer: inout [UInt8]) throws(XMLRPCError) {
        let start = position
        position += 1
        let nameStart = position
        while position < bytes.count, bytes[position] != UInt8(ascii: ";"), position - nameStart < 12 { position += 1 }
        guard position < bytes.count, bytes[position] == UInt8(ascii: ";") else {
            throw .malformed("unterminated entity reference", at: start)
        }
        let name = bytes[nameStart..<position]
        position += 1
        switch String(decoding: name, as: UTF8.self) {
        case "amp": buffer.append(UInt8(ascii: "&"))
        case "lt": buffer.append(UInt8(ascii: "<"))
        case "gt": buffer.append(UInt8(ascii: ">"))
        case "quot": buffer.append(UInt8(ascii: "\""))
        case "apos": buffer.append(UInt8(ascii: "'"))
        case let reference where reference.hasPrefix("#"):
            let digits = reference.dropFirst()
            let scalarValue: UInt32? =
                digits.hasPrefix("x") || digits.hasPrefix("X") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
            guard let scalarValue, let scalar = Unicode.Scalar(scalarValue) else {
                throw .malformed("invalid character reference", at: start)
            }
            buffer.append(contentsOf: String(Character(scalar)).utf8)
        default:
            throw .malformed("unknown entity", at: start)
        }
    }
}

extension UInt8 {
    fileprivate var isXMLWhitespace: Bool {
        self == 0x20 || self == 0x0A || self == 0x0D || self == 0x09
    }

    fileprivate var isNameByte: Bool {
        switch self {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: ":"):
            return true
        default:
            return self >= 0x80
        }
    }
}

extension String {
    fileprivate var isXMLWhitespace: Bool {
        utf8.allSatisfy(\.isXMLWhitespace)
    }

    fileprivate var trimmedWhitespace: String {
        let view = utf8
        guard let first = view.firstIndex(where: { !$0.isXMLWhitespace }) else { return "" }
        let last = view.lastIndex(where: { !$0.isXMLWhitespace })!
        return String(self[first...last])
    }
}
