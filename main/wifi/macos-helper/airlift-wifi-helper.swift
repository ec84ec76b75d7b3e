// airlift-wifi-helper — CoreWLAN for the Airlift station on macOS 14.4 and later (protocol 1).
// Needs the macOS 14 SDK or later (CWChannelBand.band6GHz, CLLocationManager.authorizationStatus).
//
// NOT BUILT OR RUN IN THIS REPOSITORY'S CI (Linux). It is the reference for the protocol that
// main/wifi/macos.ts speaks and tests against recorded replies (test/fixtures/macos/); it must be
// built, signed and checked on a real Mac (README.md next to this file).
//
// Why it exists: since macOS 14.4 the `airport` tool no longer scans, and SSIDs/BSSIDs are given
// only to a process the user has granted Location Services. `networksetup -setairportnetwork`
// takes the Wi-Fi password as a command-line argument (visible to every local user), so the
// station joins secured networks here, with the passphrase read from stdin.
//
// Protocol: `airlift-wifi-helper <command> [options]`; exactly one JSON object on stdout, then exit.
// Every reply carries "protocol": 1 and "location": authorized | denied | restricted | notDetermined | unknown.
//
//   version                                     {"ok":true,"helper":"airlift-wifi-helper","version":"1.0.0",...}
//   authorize                                   asks for Location permission (shows the system prompt), waits
//                                               up to 60 s for the answer, replies {"ok":true,...}
//   scan    --interface en0                     {"ok":true,...,"networks":[{"ssidHex":"4c6162"|null,
//                                                 "bssid":"aa:bb:cc:dd:ee:ff"|null,"rssi":-52,"channel":36,
//                                                 "band":"5GHz","security":"wpa2-psk"}]}
//   current --interface en0                     {"ok":true,...,"current":null | {"ssidHex":..,"bssid":..,"channel":36}}
//   join    --interface en0 --ssid-hex HEX --security open|wpa2-psk|wpa3-sae [--hidden] [--known]
//           --timeout-ms N                      passphrase on stdin (all of it, no newline added; empty for open);
//                                               a WPA2 raw PSK arrives the same way, as its 64 hex digits:
//                                               associate(to:password:) takes "the network passphrase or key".
//                                               {"ok":true,...} or {"ok":false,...,"reason":"ssid_not_found",
//                                               "message":".."} or {"ok":false,...,"code":-3924,"message":".."}
//                                               (`code` is CoreWLAN's CWErr; the station maps it to a reason).
//                                               --known: ignore stdin, use the password macOS keeps for a
//                                               known network (keychain), to restore the technician's network.
//                                               --timeout-ms is accepted for the future: CoreWLAN's associate
//                                               blocks with its own limit, and the station's runner bounds the call.
//   leave   --interface en0 [--forget-ssid-hex HEX]
//                                               disassociates; with --forget, also removes that network from
//                                               the preferred list when allowed (best effort). {"ok":true,...}
//
// Refusals of the call itself (exit code 2):
//   {"ok":false,"error":{"code":"bad_arguments"|"no_interface"|"location_denied"|"unsupported"|"corewlan","message":".."}}
//
// Nothing secret is ever printed; SSIDs travel as hex, never as text.

import CoreLocation
import CoreWLAN
import Foundation
import Security
import SecurityFoundation  // CWInterface.commitConfiguration(_:authorization:) needs it

let protocolVersion = 1
let helperVersion = "1.0.0"

// MARK: - Output

func locationStatus() -> String {
    let status = CLLocationManager().authorizationStatus
    switch status {
    case .authorizedAlways: return "authorized"
    case .denied: return "denied"
    case .restricted: return "restricted"
    case .notDetermined: return "notDetermined"
    default:
        // 4 is authorizedWhenInUse, which macOS may report after requestWhenInUseAuthorization().
        return status.rawValue == 4 ? "authorized" : "unknown"
    }
}

func reply(_ fields: [String: Any], exitCode: Int32 = 0) -> Never {
    var object = fields
    object["protocol"] = protocolVersion
    object["location"] = locationStatus()
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
    exit(exitCode)
}

func refuse(_ code: String, _ message: String) -> Never {
    reply(["ok": false, "error": ["code": code, "message": String(message.prefix(400))]], exitCode: 2)
}

// MARK: - Encoding

func hexString(_ data: Data?) -> Any {
    guard let data = data else { return NSNull() }
    return data.map { String(format: "%02x", $0) }.joined()
}

func dataFromHex(_ hex: String) -> Data? {
    let chars = Array(hex.utf8)
    guard chars.count % 2 == 0, chars.count >= 2, chars.count <= 64 else { return nil }
    var out = Data()
    var i = 0
    while i < chars.count {
        guard let byte = UInt8(String(bytes: chars[i..<i + 2], encoding: .ascii) ?? "", radix: 16) else { return nil }
        out.append(byte)
        i += 2
    }
    return out
}

// MARK: - Arguments

struct Options {
    var command = ""
    var values: [String: String] = [:]
    var flags: Set<String> = []
}

func parseArguments() -> Options {
    var args = Array(CommandLine.arguments.dropFirst())
    guard !args.isEmpty else { refuse("bad_arguments", "usage: airlift-wifi-helper <command> [options]") }
    var options = Options()
    options.command = args.removeFirst()
    let valued: Set<String> = ["--interface", "--ssid-hex", "--security", "--timeout-ms", "--forget-ssid-hex"]
    let flags: Set<String> = ["--hidden", "--known"]
    while !args.isEmpty {
        let arg = args.removeFirst()
        if valued.contains(arg) {
            guard !args.isEmpty else { refuse("bad_arguments", "\(arg) needs a value") }
            options.values[arg] = args.removeFirst()
        } else if flags.contains(arg) {
            options.flags.insert(arg)
        } else {
            refuse("bad_arguments", "unknown argument")
        }
    }
    return options
}

func interface(_ options: Options) -> CWInterface {
    guard let name = options.values["--interface"] else { refuse("bad_arguments", "--interface is required") }
    guard let iface = CWWiFiClient.shared().interface(withName: name) else {
        refuse("no_interface", "no Wi-Fi interface named \(name)")
    }
    return iface
}

func requireLocation() {
    if locationStatus() != "authorized" {
        refuse("location_denied", "Location Services permission is needed to read Wi-Fi names")
    }
}

// MARK: - Mapping

func band(_ channel: CWChannel?) -> String {
    guard let channel = channel else { return "unknown" }
    switch channel.channelBand {
    case .band2GHz: return "2.4GHz"
    case .band5GHz: return "5GHz"
    case .band6GHz: return "6GHz"
    default: return "unknown"
    }
}

func security(_ n: CWNetwork) -> String {
    if n.supportsSecurity(.enterprise) || n.supportsSecurity(.wpaEnterprise) || n.supportsSecurity(.wpaEnterpriseMixed)
        || n.supportsSecurity(.wpa2Enterprise) || n.supportsSecurity(.wpa3Enterprise)
    {
        return "enterprise"
    }
    if n.supportsSecurity(.wpa3Transition) { return "wpa2-wpa3" }
    if n.supportsSecurity(.wpa3Personal) { return n.supportsSecurity(.wpa2Personal) ? "wpa2-wpa3" : "wpa3-sae" }
    if n.supportsSecurity(.wpa2Personal) || n.supportsSecurity(.wpaPersonal) || n.supportsSecurity(.wpaPersonalMixed)
        || n.supportsSecurity(.personal)
    {
        return "wpa2-psk"
    }
    if n.supportsSecurity(.WEP) || n.supportsSecurity(.dynamicWEP) { return "wep" }
    if n.supportsSecurity(.OWE) || n.supportsSecurity(.oweTransition) { return "owe" }
    return "open"
}

// MARK: - Commands

func scan(_ options: Options) -> Never {
    let iface = interface(options)
    requireLocation()
    do {
        let networks = try iface.scanForNetworks(withSSID: nil, includeHidden: true)
        let list: [[String: Any]] = networks.map { n in
            [
                "ssidHex": hexString(n.ssidData),
                "bssid": n.bssid.map { $0.lowercased() as Any } ?? NSNull(),
                "rssi": n.rssiValue,
                "channel": n.wlanChannel?.channelNumber ?? 0,
                "band": band(n.wlanChannel),
                "security": security(n),
            ]
        }
        reply(["ok": true, "networks": list.filter { ($0["channel"] as? Int ?? 0) > 0 }])
    } catch {
        refuse("corewlan", "scan failed: \((error as NSError).code)")
    }
}

func current(_ options: Options) -> Never {
    let iface = interface(options)
    requireLocation()
    guard iface.wlanChannel() != nil, iface.ssidData() != nil || iface.bssid() != nil else {
        reply(["ok": true, "current": NSNull()])
    }
    reply([
        "ok": true,
        "current": [
            "ssidHex": hexString(iface.ssidData()),
            "bssid": iface.bssid().map { $0.lowercased() as Any } ?? NSNull(),
            "channel": iface.wlanChannel()?.channelNumber ?? NSNull(),
        ] as [String: Any],
    ])
}

func knownPassword(_ ssid: Data) -> String? {
    for domain in [CWKeychainDomain.system, CWKeychainDomain.user] {
        var password: NSString?
        if CWKeychainFindWiFiPassword(domain, ssid, &password) == errSecSuccess, let p = password { return p as String }
    }
    return nil
}

func join(_ options: Options) -> Never {
    let iface = interface(options)
    requireLocation()
    guard let hex = options.values["--ssid-hex"], let ssid = dataFromHex(hex) else {
        refuse("bad_arguments", "--ssid-hex must be 1..32 bytes of hex")
    }
    let sec = options.values["--security"] ?? ""
    guard ["open", "wpa2-psk", "wpa3-sae"].contains(sec) else { refuse("bad_arguments", "bad --security") }
    let known = options.flags.contains("--known")
    var password: String? = nil
    if known {
        password = knownPassword(ssid)
    } else if sec != "open" {
        let input = FileHandle.standardInput.readDataToEndOfFile()
        guard let text = String(data: input, encoding: .utf8), !text.isEmpty else {
            refuse("bad_arguments", "the passphrase must be given on stdin")
        }
        // A passphrase, or a WPA2 raw PSK as 64 hex digits: CoreWLAN takes either as `password`.
        password = text
    }
    do {
        let found = try iface.scanForNetworks(withSSID: ssid, includeHidden: options.flags.contains("--hidden"))
        guard let target = found.filter({ $0.ssidData == ssid }).max(by: { $0.rssiValue < $1.rssiValue }) else {
            reply(["ok": false, "reason": "ssid_not_found", "message": "no network with that SSID in range"])
        }
        try iface.associate(to: target, password: password)
        reply(["ok": true])
    } catch {
        let e = error as NSError
        reply(["ok": false, "code": e.code, "message": "CoreWLAN error \(e.code)"])
    }
}

func leave(_ options: Options) -> Never {
    let iface = interface(options)
    iface.disassociate()
    if let hex = options.values["--forget-ssid-hex"], let ssid = dataFromHex(hex), let config = iface.configuration() {
        // Best effort: changing the preferred list needs an administrator's authorization, which a
        // technician's account may not have. A remembered setup AP is harmless (it is never
        // auto-joined over a known network the user ranks higher) but the station tries.
        let mutable = CWMutableConfiguration(configuration: config)
        mutable.networkProfiles = NSOrderedSet(array: mutable.networkProfiles.array.filter {
            ($0 as? CWNetworkProfile)?.ssidData != ssid
        })
        try? iface.commitConfiguration(mutable, authorization: nil)
    }
    reply(["ok": true])
}

final class AuthorizationWaiter: NSObject, CLLocationManagerDelegate {
    let manager = CLLocationManager()
    func locationManagerDidChangeAuthorization(_ manager: CLLocationManager) {
        if manager.authorizationStatus != .notDetermined { CFRunLoopStop(CFRunLoopGetMain()) }
    }
}

func authorize() -> Never {
    let waiter = AuthorizationWaiter()
    waiter.manager.delegate = waiter
    if waiter.manager.authorizationStatus == .notDetermined {
        waiter.manager.requestWhenInUseAuthorization()
        _ = CFRunLoopRunInMode(.defaultMode, 60, false)
    }
    reply(["ok": true])
}

// MARK: - Main

let options = parseArguments()
switch options.command {
case "version": reply(["ok": true, "helper": "airlift-wifi-helper", "version": helperVersion])
case "authorize": authorize()
case "scan": scan(options)
case "current": current(options)
case "join": join(options)
case "leave": leave(options)
default: refuse("bad_arguments", "unknown command")
}
