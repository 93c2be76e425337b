/// `IMMNotificationClient`: endpoint events.
///
/// Callback safety: every method is called on the library's notification
/// thread (never on JACK's threads), one event at a time, in the order the
/// events happened, with no library lock held: a callback may call back into
/// the enumerator. A callback that blocks delays later notifications, as on
/// Windows. Every method has an empty default implementation.
public protocol MMNotificationClient: AnyObject, Sendable {
    /// `OnDeviceStateChanged`: the endpoint is now `newState`.
    func onDeviceStateChanged(deviceID: String, newState: DeviceState)
    /// `OnDeviceAdded`: an endpoint never seen before appeared.
    func onDeviceAdded(deviceID: String)
    /// `OnDeviceRemoved`: the endpoint was removed for good.
    func onDeviceRemoved(deviceID: String)
    /// `OnDefaultDeviceChanged`: the default for `flow` and `role` is now
    /// `deviceID` (nil: there is none).
    func onDefaultDeviceChanged(flow: DataFlow, role: Role, deviceID: String?)
    /// `OnPropertyValueChanged`: a property of the endpoint changed.
    func onPropertyValueChanged(deviceID: String, key: PropertyKey)
}

extension MMNotificationClient {
    public func onDeviceStateChanged(deviceID: String, newState: DeviceState) {}
    public func onDeviceAdded(deviceID: String) {}
    public func onDeviceRemoved(deviceID: String) {}
    public func onDefaultDeviceChanged(flow: DataFlow, role: Role, deviceID: String?) {}
    public func onPropertyValueChanged(deviceID: String, key: PropertyKey) {}
}
