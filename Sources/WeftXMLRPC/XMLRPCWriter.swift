/// Serialises values in the exact layout of Python's `xmlrpc.client.Marshaller` (which Odoo's server also uses).
struct XMLRPCWriter {
    private(set) var output: String = ""

    init(capacity: Int = 512) {
        output.reserveCapacity(capacity)
    }

    mutating func append(_ text: String) {
        output += text
    }

    mutating func write(_ value: XMLRPCValue) {
        switch value {
        case .int(let number):
            // Python refuses ints outside 32 bits; `<i8>` is what its decoder (and Odoo's) accepts for them.
            if number >= Int64(Int32.min) && number <= Int64(Int32.max) {
                output += "<value><int>\(number)</int></value>\n"
            } else {
                output += "<value><i8>\(number)</i8></value>\n"
            }
        case .bool(let flag):
            output += flag ? "<value><boolean>1</boolean></value>\n" : "<value><boolean>0</boolean></value>\n"
        case .string(let text):
            output += "<value><string>"
            appendEscaped(text)
            output += "</string></value>\n"
        case .double(let number):
            output += "<value><double>\(Self.pythonRepr(number))</double></value>\n"
        case .dateTime(let text):
            output += "<value><dateTime.iso8601>"
            appendEscaped(text)
            output += "</dateTime.iso8601></value>\n"
        case .base64(let bytes):
            output += "<value><base64>\n"
            output += Base64.encode(bytes, lineLength: 76)
            output += "</base64></value>\n"
        case .array(let elements):
            output += "<value><array><data>\n"
            for element in elements { write(element) }
            output += "</data></array></value>\n"
        case .structure(let members):
            output += "<value><struct>\n"
            // Dictionaries have no order; sorted keys make equal values serialise to equal bytes.
            for key in members.keys.sorted() {
                output += "<member>\n<name>"
                appendEscaped(key)
                output += "</name>\n"
                write(members[key]!)
                output += "</member>\n"
            }
            output += "</struct></value>\n"
        case .nil:
            output += "<value><nil/></value>"
        }
    }

    /// `&`, `<` and `>` become entities (as Python's `escape`); C0 control characters other than tab, LF and CR are
    /// dropped, as Odoo's marshaller does, because XML 1.0 cannot carry them.
    mutating func appendEscaped(_ text: String) {
        var needsWork = false
        for byte in text.utf8
        where byte == 0x26 || byte == 0x3C || byte == 0x3E || (byte < 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D) {
            needsWork = true
            break
        }
        guard needsWork else {
            output += text
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\t", "\n", "\r": output.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 { continue }
                output.unicodeScalars.append(scalar)
            }
        }
    }

    /// Python's `repr(float)`: shortest round-trip digits, `.0` for whole numbers, exponent form outside 1e-4..<1e16.
    static func pythonRepr(_ number: Double) -> String {
        if number.isNaN { return "nan" }
        if number.isInfinite { return number < 0 ? "-inf" : "inf" }
        // Swift's description already follows the same shortest-digits and switch-over rules.
        return number.description
    }
}
