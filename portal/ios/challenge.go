package ios

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ChallengeKeyName is the name of the key that signs profile service
// challenges among the portal's secrets, shared by every portal process.
const ChallengeKeyName = "ios-challenge-hs256"

// challengeTTL is how long a downloaded Profile Service profile can be
// installed. iOS itself drops a downloaded profile not installed within
// minutes; an hour leaves room for a slow user.
const challengeTTL = time.Hour

const (
	challengeIssuer   = "provportal"
	challengeAudience = "ios-profile-service"
)

// challenges issues and checks the challenge a Profile Service profile
// carries and the device echoes, signed, with its attributes: an HS256
// token naming the invitation, so an answer is taken only for the
// invitation it was asked for, and only for a while.
type challenges struct {
	key []byte
	now func() time.Time
}

func (c challenges) issue(invitationID string) (string, error) {
	now := c.now()
	claims := jwt.RegisteredClaims{Issuer: challengeIssuer, Audience: jwt.ClaimStrings{challengeAudience}, Subject: invitationID,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(challengeTTL))}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(c.key)
}

// check returns nil if the challenge is this portal's, live and for the invitation.
func (c challenges) check(challenge, invitationID string) error {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(challenge, &claims, func(*jwt.Token) (any, error) { return c.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(challengeIssuer),
		jwt.WithAudience(challengeAudience), jwt.WithExpirationRequired(), jwt.WithTimeFunc(c.now))
	if err != nil {
		return err
	}
	if claims.Subject != invitationID {
		return errors.New("the challenge is for another invitation")
	}
	return nil
}
