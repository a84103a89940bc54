-- BadCal: stars reported by observers as bad interferometric calibrators. The historical service
-- (AstroGrid DSA table badcal.valid_stars) exposed id, ra, dec (deg) and name; each report also
-- records its observation: date, interferometer, instrument, baseline, wavelength, and who
-- submitted it, when and why. Metadata in tap_schema/40_badcal.yaml.
CREATE TABLE badcal.valid_stars (
    id               integer PRIMARY KEY,
    name             text NOT NULL,
    ra               double precision NOT NULL CHECK (ra >= 0 AND ra < 360),
    dec              double precision NOT NULL CHECK (dec BETWEEN -90 AND 90),
    obs_date         timestamp,
    interferometer   text,
    insname          text,
    baseline         text,
    wavelength       double precision CHECK (wavelength > 0),
    user_name        text,
    user_affiliation text,
    user_comment     text,
    sub_date         timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
CREATE INDEX valid_stars_position ON badcal.valid_stars USING gist (spoint(radians(ra), radians(dec)));
