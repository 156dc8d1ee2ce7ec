/// Stripe's test-mode payment methods and what paying with them does.
enum TestCards {
    struct Outcome: Sendable {
        var brand: String
        var last4: String
        /// `nil` when the payment succeeds.
        var decline: Decline?
    }

    struct Decline: Sendable {
        var code: String
        var declineCode: String?
        var message: String
    }

    private static let cardDeclined = "Your card was declined."

    private static let table: [String: Outcome] = [
        "pm_card_visa": Outcome(brand: "visa", last4: "4242"),
        "pm_card_visa_debit": Outcome(brand: "visa", last4: "5556"),
        "pm_card_mastercard": Outcome(brand: "mastercard", last4: "4444"),
        "pm_card_amex": Outcome(brand: "amex", last4: "8431"),
        "pm_card_discover": Outcome(brand: "discover", last4: "1117"),
        "pm_card_us": Outcome(brand: "visa", last4: "4242"),
        "pm_card_chargeDeclined": Outcome(
            brand: "visa", last4: "0002",
            decline: Decline(code: "card_declined", declineCode: "generic_decline", message: cardDeclined)),
        "pm_card_visa_chargeDeclined": Outcome(
            brand: "visa", last4: "0002",
            decline: Decline(code: "card_declined", declineCode: "generic_decline", message: cardDeclined)),
        "pm_card_chargeDeclinedInsufficientFunds": Outcome(
            brand: "visa", last4: "9995",
            decline: Decline(
                code: "card_declined", declineCode: "insufficient_funds", message: "Your card has insufficient funds.")),
        "pm_card_chargeDeclinedLostCard": Outcome(
            brand: "visa", last4: "9987",
            decline: Decline(code: "card_declined", declineCode: "lost_card", message: cardDeclined)),
        "pm_card_chargeDeclinedStolenCard": Outcome(
            brand: "visa", last4: "9979",
            decline: Decline(code: "card_declined", declineCode: "stolen_card", message: cardDeclined)),
        "pm_card_chargeDeclinedFraudulent": Outcome(
            brand: "visa", last4: "0019",
            decline: Decline(code: "card_declined", declineCode: "fraudulent", message: cardDeclined)),
        "pm_card_chargeDeclinedExpiredCard": Outcome(
            brand: "visa", last4: "0069",
            decline: Decline(code: "expired_card", declineCode: "expired_card", message: "Your card has expired.")),
        "pm_card_chargeDeclinedIncorrectCvc": Outcome(
            brand: "visa", last4: "0127",
            decline: Decline(
                code: "incorrect_cvc", declineCode: "incorrect_cvc", message: "Your card's security code is incorrect.")),
        "pm_card_chargeDeclinedProcessingError": Outcome(
            brand: "visa", last4: "0119",
            decline: Decline(
                code: "processing_error", declineCode: "processing_error",
                message: "An error occurred while processing your card. Try again in a little bit.")),
    ]

    /// The outcome for a test payment method, or `resource_missing` for an unknown one.
    static func outcome(for paymentMethod: String, param: String) throws -> Outcome {
        guard let outcome = table[paymentMethod] else {
            throw StripeError.invalidRequest(
                "No such PaymentMethod: '\(paymentMethod)'", code: "resource_missing", param: param, status: 404)
        }
        return outcome
    }
}
