package portal

// StatusProfileDelivered is an iPhone's or iPad's status once the portal has
// answered its signed device attributes with its configuration profile. It
// is as far as the portal can see: whether the user then installs the
// profile happens on the device alone.
const StatusProfileDelivered = "profile_delivered"
