import Foundation
public import Hummingbird

/// An error answered to an HTTP client as JSON: `{"error": {"code": "...", "message": "..."}}`.
///
/// Messages say what went wrong and what to fix; they never contain secrets or payloads.
public struct APIError: HTTPResponseError, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public let headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bodyBytes)))
    }

    /// `{"error": {"code": "...", "message": "..."}}`.
    var bodyBytes: [UInt8] {
        // Two strings cannot fail to encode.
        (try? Array(JSONEncoder().encode(APIErrorBody(error: .init(code: code, message: message))))) ?? []
    }
}

struct APIErrorBody: Encodable {
    struct Detail: Encodable {
        let code: String
        let message: String
    }
    let error: Detail
}
