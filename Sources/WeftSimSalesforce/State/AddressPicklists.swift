import WeftSimKit

/// The countries and states an org with State and Country/Territory Picklists knows: ISO codes, and as integration
/// values (what `BillingCountry` and `BillingState` hold) the full names Salesforce ships by default.
///
/// A subset of Salesforce's list (its countries are all of ISO 3166; its states cover more countries): the countries
/// integrations meet most, and the states of the United States, Canada and Australia. A country without states here
/// takes no state, as an org's country without a state picklist.
enum AddressPicklists {
    struct Entry: Sendable {
        var code: String
        var name: String
    }

    static let countries: [Entry] = [
        ("AE", "United Arab Emirates"), ("AR", "Argentina"), ("AT", "Austria"), ("AU", "Australia"), ("BE", "Belgium"),
        ("BR", "Brazil"), ("CA", "Canada"), ("CH", "Switzerland"), ("CL", "Chile"), ("CN", "China"), ("CO", "Colombia"),
        ("CZ", "Czechia"), ("DE", "Germany"), ("DK", "Denmark"), ("ES", "Spain"), ("FI", "Finland"), ("FR", "France"),
        ("GB", "United Kingdom"), ("GR", "Greece"), ("HK", "Hong Kong"), ("HU", "Hungary"), ("IE", "Ireland"),
        ("IL", "Israel"), ("IN", "India"), ("IT", "Italy"), ("JP", "Japan"), ("KR", "Korea, Republic of"),
        ("LU", "Luxembourg"), ("MX", "Mexico"), ("NL", "Netherlands"), ("NO", "Norway"), ("NZ", "New Zealand"),
        ("PL", "Poland"), ("PT", "Portugal"), ("RO", "Romania"), ("SE", "Sweden"), ("SG", "Singapore"),
        ("TR", "Turkey"), ("US", "United States"), ("ZA", "South Africa"),
    ].map { Entry(code: $0.0, name: $0.1) }

    static let states: [String: [Entry]] = [
        "US": [
            ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"), ("CA", "California"),
            ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"), ("DC", "District of Columbia"),
            ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"), ("ID", "Idaho"), ("IL", "Illinois"), ("IN", "Indiana"),
            ("IA", "Iowa"), ("KS", "Kansas"), ("KY", "Kentucky"), ("LA", "Louisiana"), ("ME", "Maine"), ("MD", "Maryland"),
            ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"), ("MS", "Mississippi"), ("MO", "Missouri"),
            ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"), ("NH", "New Hampshire"), ("NJ", "New Jersey"),
            ("NM", "New Mexico"), ("NY", "New York"), ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"),
            ("OK", "Oklahoma"), ("OR", "Oregon"), ("PA", "Pennsylvania"), ("RI", "Rhode Island"),
            ("SC", "South Carolina"), ("SD", "South Dakota"), ("TN", "Tennessee"), ("TX", "Texas"), ("UT", "Utah"),
            ("VT", "Vermont"), ("VA", "Virginia"), ("WA", "Washington"), ("WV", "West Virginia"), ("WI", "Wisconsin"),
            ("WY", "Wyoming"),
        ].map { Entry(code: $0.0, name: $0.1) },
        "CA": [
            ("AB", "Alberta"), ("BC", "British Columbia"), ("MB", "Manitoba"), ("NB", "New Brunswick"),
            ("NL", "Newfoundland and Labrador"), ("NS", "Nova Scotia"), ("NT", "Northwest Territories"), ("NU", "Nunavut"),
            ("ON", "Ontario"), ("PE", "Prince Edward Island"), ("QC", "Quebec"), ("SK", "Saskatchewan"), ("YT", "Yukon Territories"),
        ].map { Entry(code: $0.0, name: $0.1) },
        "AU": [
            ("ACT", "Australian Capital Territory"), ("NSW", "New South Wales"), ("NT", "Northern Territory"),
            ("QLD", "Queensland"), ("SA", "South Australia"), ("TAS", "Tasmania"), ("VIC", "Victoria"),
            ("WA", "Western Australia"),
        ].map { Entry(code: $0.0, name: $0.1) },
    ]

    static func country(code: String) -> Entry? { countries.first { $0.code == code.uppercased() } }
    static func country(name: String) -> Entry? { countries.first { $0.name.lowercased() == name.lowercased() } }
    static func state(code: String, in country: String) -> Entry? { states[country]?.first { $0.code == code.uppercased() } }
    static func state(name: String, in country: String) -> Entry? {
        states[country]?.first { $0.name.lowercased() == name.lowercased() }
    }
}

extension SalesforceState {
    /// Keeps each address's text and code fields in step, as an org with State and Country/Territory Picklists does
    /// (Salesforce's help, "Synchronizing State and Country/Territory Fields"): a code sets the name, a name sets the
    /// code, a state needs a country that has it. The errors are Salesforce's `FIELD_INTEGRITY_EXCEPTION`s as clients
    /// report them. `changed` are the fields the request set.
    func syncAddressPicklists(
        _ object: ObjectSchema, _ fields: inout [String: JSON], changed: Set<String>, isNew: Bool
    ) throws(SalesforceError) {
        for prefix in ["Billing", "Shipping", "Mailing"] where object.field(prefix + "CountryCode") != nil {
            let (countryText, countryCode) = (prefix + "Country", prefix + "CountryCode")
            let (stateText, stateCode) = (prefix + "State", prefix + "StateCode")
            func problem(_ field: String, _ message: String) -> SalesforceError {
                SalesforceError(400, "FIELD_INTEGRITY_EXCEPTION", message, fields: [field])
            }
            func label(_ field: String) -> String { object.field(field)?.label ?? field }
            let badCountry = problem(
                countryText,
                "There's a problem with this country, even though it may appear correct. Please select a country/territory "
                    + "from the list of valid countries.: \(label(countryText))")
            let countryChanged = changed.contains(countryCode) || changed.contains(countryText)
            if changed.contains(countryCode) {
                if let code = fields[countryCode]?.string {
                    guard let country = AddressPicklists.country(code: code) else {
                        throw problem(countryCode, "The \(countryCode) field contains \(code), which isn't an available country/territory.")
                    }
                    // On create the code wins over a text that disagrees; on update they must agree.
                    if !isNew, changed.contains(countryText), let text = fields[countryText]?.string,
                        text.lowercased() != country.name.lowercased()
                    {
                        throw badCountry
                    }
                    fields[countryCode] = .string(country.code)
                    fields[countryText] = .string(country.name)
                } else if !changed.contains(countryText) || fields[countryText]?.string == nil {
                    fields[countryText] = .null
                } else {
                    throw badCountry
                }
            } else if changed.contains(countryText) {
                if let text = fields[countryText]?.string {
                    guard let country = AddressPicklists.country(name: text) else { throw badCountry }
                    fields[countryCode] = .string(country.code)
                    fields[countryText] = .string(country.name)
                } else {
                    fields[countryCode] = .null
                }
            }
            let country = fields[countryCode]?.string
            let stateChanged = changed.contains(stateCode) || changed.contains(stateText)
            let given: (field: String, value: String)? =
                if changed.contains(stateCode), let code = fields[stateCode]?.string {
                    (stateCode, code)
                } else if !changed.contains(stateCode), changed.contains(stateText), let text = fields[stateText]?.string {
                    (stateText, text)
                } else if !stateChanged, countryChanged, let code = fields[stateCode]?.string {
                    (stateCode, code)
                } else {
                    nil
                }
            guard let given else {
                if changed.contains(stateCode) {
                    fields[stateText] = .null
                } else if changed.contains(stateText) {
                    fields[stateCode] = .null
                }
                continue
            }
            guard let country else {
                throw problem(
                    given.field, "A country/territory must be specified before specifying a state value for field: \(label(given.field))")
            }
            let state =
                given.field == stateCode
                ? AddressPicklists.state(code: given.value, in: country) : AddressPicklists.state(name: given.value, in: country)
            guard let state else {
                throw given.field == stateCode
                    ? problem(stateCode, "The existing country/territory doesn't recognize the state value for field: \(label(stateCode))")
                    : problem(
                        stateText,
                        "There's a problem with this state, even though it may appear correct. Please select a state from the list "
                            + "of valid states.: \(label(stateText))")
            }
            fields[stateCode] = .string(state.code)
            fields[stateText] = .string(state.name)
        }
    }
}
