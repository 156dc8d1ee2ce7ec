/// How a caller should treat an HTTP status from a target API.
public enum HTTPStatusClass: Sendable, Hashable {
    /// 2xx.
    case success
    /// Worth retrying later: 408, 409 (lock/conflict), 425, 429, 5xx other than 501/505.
    case retryable
    /// Retrying the same request will not help: other 4xx, 501, 505, and anything unexpected (1xx, 3xx).
    case permanent

    /// Classifies `status`.
    public init(status: Int) {
        switch status {
        case 200..<300: self = .success
        case 408, 409, 425, 429: self = .retryable
        case 501, 505: self = .permanent
        case 500..<600: self = .retryable
        default: self = .permanent
        }
    }
}
