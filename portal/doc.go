// Package portal holds the provisioning portal's domain: the types an
// administrator works with, the store interfaces every backend implements,
// and the error codes the API speaks. It imports neither echo nor gorm.
package portal
