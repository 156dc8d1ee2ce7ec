import Testing
import WeftCore

@Suite("Value maps: a system's values ↔ the ERP's names")
struct ValueMapTests {
    static let industries = try! ValueMap([
        .init(system: "COMPUTER_SOFTWARE", canonical: "Information and communication"),
        .init(system: "RETAIL", canonical: "Wholesale/Retail"),
    ])

    @Test func namedValuesTranslateBothWaysIgnoringCase() {
        let map = Self.industries
        #expect(map.canonical("COMPUTER_SOFTWARE") == "Information and communication")
        #expect(map.canonical("retail") == "Wholesale/Retail")
        #expect(map.system("Information and communication") == "COMPUTER_SOFTWARE")
        // Odoo's name as the ERP shows it may differ in case from the config's.
        #expect(map.system("wholesale/retail") == "RETAIL")
        // Read and written back, a value is the same.
        for pair in map.pairs {
            #expect(map.system(map.canonical(pair.system)) == pair.system)
            #expect(map.canonical(map.system(pair.canonical)) == pair.canonical)
        }
    }

    @Test func valuesTheMapDoesNotNamePassThroughAndNilStaysNil() {
        let map = Self.industries
        #expect(map.canonical("Manufacturing") == "Manufacturing")
        #expect(map.system("Manufacturing") == "Manufacturing")
        #expect(map.canonical(nil) == nil)
        #expect(map.system(nil) == nil)
        #expect(ValueMap.identity.isEmpty)
        #expect(ValueMap.identity.canonical("RETAIL") == "RETAIL")
        #expect(ValueMap.identity.system("Wholesale/Retail") == "Wholesale/Retail")
    }

    /// HubSpot has many more industries than Odoo: several read as one Odoo industry, and the first listed is written.
    @Test func severalSystemValuesMayStandForOneAndTheFirstIsWritten() throws {
        let map = try ValueMap([
            .init(system: "COMPUTER_SOFTWARE", canonical: "Information and communication"),
            .init(system: "INFORMATION_TECHNOLOGY_AND_SERVICES", canonical: "information and communication"),
            .init(system: "RETAIL", canonical: "Wholesale/Retail"),
        ])
        #expect(map.canonical("INFORMATION_TECHNOLOGY_AND_SERVICES") == "information and communication")
        #expect(map.canonical("COMPUTER_SOFTWARE") == "Information and communication")
        #expect(map.system("Information and communication") == "COMPUTER_SOFTWARE")
        #expect(map.system("Wholesale/Retail") == "RETAIL")
    }

    @Test func aSystemValueMayStandForOneValueOnly() {
        #expect(throws: ValueMap.Clash(value: "Retail", first: 0, second: 2)) {
            try ValueMap([
                .init(system: "RETAIL", canonical: "Wholesale/Retail"),
                .init(system: "ENERGY", canonical: "Energy supply"),
                .init(system: "Retail", canonical: "Other Services"),
            ])
        }
    }
}

extension ValueMapTests {
    /// Checked against a dropdown's options: a value the system lacks is named, with the option it matches apart
    /// from case (Weft writes the value as configured, which the system would refuse).
    @Test func valuesTheSystemLacksAreFoundExactly() throws {
        let map = try ValueMap([
            .init(system: "COMPUTER_SOFTWARE", canonical: "Information and communication"),
            .init(system: "retail", canonical: "Wholesale/Retail"),
            .init(system: "COMPUTER_SOFTWRE", canonical: "Information and communication"),
        ])
        let missing = map.systemValues(notIn: ["COMPUTER_SOFTWARE", "RETAIL", "WHOLESALE"])
        #expect(missing.map(\.value) == ["retail", "COMPUTER_SOFTWRE"])
        #expect(missing.map(\.option) == ["RETAIL", nil])
        #expect(ValueMap.describe(missing) == "retail (the option is RETAIL), COMPUTER_SOFTWRE")
        #expect(ValueMap.identity.systemValues(notIn: []).isEmpty)
    }
}
