import Testing
import WeftCore
import WeftXMLRPC

@Suite struct XMLRPCCodecTests {
    @Test func encodesCallsLikePythonsXMLRPCClient() {
        let body = XMLRPC.encodeCall(
            method: "authenticate", params: ["odoo19", "admin", "secret", .structure([:])])
        #expect(
            body
                == "<?xml version='1.0'?>\n<methodCall>\n<methodName>authenticate</methodName>\n<params>\n<param>\n"
                + "<value><string>odoo19</string></value>\n</param>\n<param>\n<value><string>admin</string></value>\n"
                + "</param>\n<param>\n<value><string>secret</string></value>\n</param>\n<param>\n<value><struct>\n"
                + "</struct></value>\n</param>\n</params>\n</methodCall>\n")
    }

    @Test func encodesEveryScalarInPythonsLayout() {
        let body = XMLRPC.encodeResponse([
            .int(7), .int(5_000_000_000), .bool(true), .double(1.5), .double(1e-5), .double(100),
            .dateTime("20261122T22:00:17"), .base64(Array("hi".utf8)), .nil, "a<b&c>d",
        ])
        #expect(
            body
                == "<?xml version=\"1.0\"?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n"
                + "<value><int>7</int></value>\n<value><i8>5000000000</i8></value>\n"
                + "<value><boolean>1</boolean></value>\n<value><double>1.5</double></value>\n"
                + "<value><double>1e-05</double></value>\n<value><double>100.0</double></value>\n"
                + "<value><dateTime.iso8601>20261122T22:00:17</dateTime.iso8601></value>\n"
                + "<value><base64>\naGk=\n</base64></value>\n<value><nil/></value>"
                + "<value><string>a&lt;b&amp;c&gt;d</string></value>\n</data></array></value>\n</param>\n</params>\n\n"
                + "</methodResponse>\n")
    }

    @Test func encodesFaultsLikeOdoo() throws {
        let body = XMLRPC.encodeFault(code: 3, message: "Access Denied")
        #expect(
            body
                == "<?xml version=\"1.0\"?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n"
                + "<value><int>3</int></value>\n</member>\n<member>\n<name>faultString</name>\n"
                + "<value><string>Access Denied</string></value>\n</member>\n</struct></value>\n</fault>\n\n"
                + "</methodResponse>\n")
        #expect(try XMLRPC.decodeResponse(Array(body.utf8)) == .fault(code: 3, message: "Access Denied"))
    }

    @Test func roundTripsNestedValues() throws {
        let value: XMLRPCValue = .structure([
            "name": "Hans Müller & Söhne <GmbH>",
            "ids": [1, 2, .int(Int64.max), .int(Int64.min)],
            "nested": .structure(["empty": [], "none": .nil, "flag": false, "amount": 1234.5]),
            "blob": .base64(Array(0...255)),
            "when": .dateTime("20260101T00:00:00"),
            "empty": .structure([:]),
            "blank": "",
            "spaces": "  padded\n\ttext  ",
        ])
        let call = XMLRPC.encodeCall(method: "execute_kw", params: [value, "x"])
        let decoded = try XMLRPC.decodeCall(Array(call.utf8))
        #expect(decoded.method == "execute_kw")
        #expect(decoded.params == [value, "x"])
        #expect(try XMLRPC.decodeResponse(Array(XMLRPC.encodeResponse(value).utf8)) == .value(value))
    }

    @Test func decodesUntypedValuesAsStringsAndAllIntegerSpellings() throws {
        let body = """
            <?xml version="1.0" encoding="utf-8"?>
            <!-- comment -->
            <methodResponse><params><param><value><array><data>
              <value>plain &amp; simple</value>
              <value></value>
              <value/>
              <value><i4>-4</i4></value>
              <value><i8>9000000000</i8></value>
              <value><int> 12 </int></value>
              <value><string/></value>
              <value><nil/></value>
              <value><ex:nil/></value>
              <value><boolean>0</boolean></value>
              <value><double>-2.25</double></value>
              <value><string>&#233;&#x41;&quot;&apos;<![CDATA[<raw>]]></string></value>
              <value><array><data/></array></value>
              <value><struct/></value>
            </data></array></value></param></params></methodResponse>
            """
        let response = try XMLRPC.decodeResponse(Array(body.utf8))
        #expect(
            response
                == .value([
                    "plain & simple", "", "", -4, .int(9_000_000_000), 12, "", .nil, .nil, false, -2.25, "éA\"'<raw>", [],
                    .structure([:]),
                ]))
    }

    @Test func rejectsMalformedDocumentsWithoutEchoingThem() {
        let secret = "<methodCall><methodName>version"
        #expect {
            try XMLRPC.decodeCall(Array(secret.utf8))
        } throws: { error in
            guard let error = error as? XMLRPCError else { return false }
            return error.isMalformedXML && !error.description.contains("version")
        }
        #expect(throws: XMLRPCError.self) {
            try XMLRPC.decodeResponse(
                Array("<methodResponse><params><param><value><int>x</int></value></param></params></methodResponse>".utf8))
        }
        #expect(throws: XMLRPCError.self) {
            try XMLRPC.decodeResponse(
                Array("<methodResponse><params><param><value><bogus>1</bogus></value></param></params></methodResponse>".utf8))
        }
        #expect(throws: XMLRPCError.self) {
            try XMLRPC.decodeResponse(Array("<methodResponse><params></params></methodResponse>".utf8))
        }
    }

    @Test func convertsToAndFromJSON() {
        let json: JSONValue = ["id": 3, "name": "Acme", "parent_id": false, "limit": nil, "tags": [1, 2.5]]
        let xml = XMLRPCValue(json)
        #expect(xml == .structure(["id": 3, "name": "Acme", "parent_id": false, "limit": .nil, "tags": [1, 2.5]]))
        #expect(JSONValue(xml) == json)
        #expect(JSONValue(XMLRPCValue.base64(Array("hello".utf8))) == "aGVsbG8=")
        #expect(JSONValue(XMLRPCValue.dateTime("20260101T00:00:00")) == "20260101T00:00:00")
    }

    @Test func dropsControlCharactersXMLCannotCarry() throws {
        let body = XMLRPC.encodeResponse("a\u{1}b\tc")
        #expect(try XMLRPC.decodeResponse(Array(body.utf8)) == .value("ab\tc"))
    }
}
