import Foundation

/// Adds billing intervals to unix timestamps the way Stripe does (calendar months and years, in UTC).
enum BillingPeriod {
    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar
    }()

    static func advance(_ timestamp: Int, interval: String, count: Int) -> Int {
        switch interval {
        case "day": return timestamp + 86_400 * count
        case "week": return timestamp + 7 * 86_400 * count
        default:
            let component: Calendar.Component = interval == "year" ? .year : .month
            let start = Date(timeIntervalSince1970: TimeInterval(timestamp))
            guard let end = calendar.date(byAdding: component, value: count, to: start) else {
                return timestamp + 30 * 86_400 * count
            }
            return Int(end.timeIntervalSince1970)
        }
    }
}
