-- ObsPortal: observation logs of the optical interferometers, from the instruments' ESO headers.
-- Column names follow the real ObsPortal search.votable output (exp_*, obs_*, instrument_*,
-- interferometer_*, target_*) so that Aspro2 reads them unchanged; metadata in tap_schema/30_obsportal.yaml.
-- Rows are written by `jmmctap ingest-eso` (jmmctap.catalogues.obsportal_store).

-- Station positions (Aspro2 configuration, GPL-3.0; see src/jmmctap/catalogues/data/README.md).
CREATE TABLE obsportal.stations (
    interferometer_name text NOT NULL,
    station_name        text NOT NULL,
    telescope           text NOT NULL,
    x                   double precision NOT NULL,
    y                   double precision NOT NULL,
    z                   double precision NOT NULL,
    PRIMARY KEY (interferometer_name, station_name)
);

CREATE TABLE obsportal.programs (
    program_id   text PRIMARY KEY,
    pi_coi       text,
    date_updated timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE obsportal.instrument_setups (
    setup_id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    interferometer_name text,
    instrument_name     text NOT NULL,
    instrument_mode     text,
    instrument_submode  text,
    em_min              double precision,
    em_max              double precision,
    em_res_power        double precision,
    UNIQUE NULLS NOT DISTINCT (interferometer_name, instrument_name, instrument_mode, instrument_submode)
);

-- One row per executed template of an observation block (ESO OBS ID + TPL START).
CREATE TABLE obsportal.observations (
    obs_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instrument_name text,
    ob_id           bigint,
    ob_name         text,
    ob_target_name  text,
    obs_program     text REFERENCES obsportal.programs (program_id),
    obs_type        text CHECK (obs_type IN ('science', 'calibrator')),
    tpl_id          text,
    tpl_start       timestamptz,
    tpl_nexp        integer,
    UNIQUE NULLS NOT DISTINCT (instrument_name, ob_id, tpl_start)
);

-- Targets found by grouping exposure pointings within a radius; linked to their JSDC star.
CREATE TABLE obsportal.targets (
    target_id        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_name      text,
    target_ra        double precision NOT NULL,
    target_dec       double precision NOT NULL,
    n_exposures      integer NOT NULL DEFAULT 0,
    jsdc_recno       bigint,
    jsdc_separation  double precision,
    jsdc_candidates  integer NOT NULL DEFAULT 0,
    jsdc_match       text CHECK (jsdc_match IN ('unique', 'ambiguous'))
);
CREATE INDEX targets_position ON obsportal.targets USING gist (spoint(radians(target_ra), radians(target_dec)));
CREATE INDEX targets_jsdc ON obsportal.targets (jsdc_recno);

CREATE TABLE obsportal.exposures (
    exp_id                  text PRIMARY KEY,
    exp_header_id           text NOT NULL,
    exp_mjd_start           double precision,
    exp_mjd_end             double precision,
    exp_exptime             double precision,
    exp_projected_baselines text,
    exp_validation_level    integer NOT NULL CHECK (exp_validation_level IN (0, 1)),
    exp_validation_log      text NOT NULL,
    exp_tau0                double precision,
    exp_temperature         double precision,
    exp_seeing              double precision,
    exp_airmass             double precision,
    exp_date_updated        timestamptz NOT NULL DEFAULT now(),
    exp_date_release        timestamptz,
    exp_source              text NOT NULL,
    obs_id                  bigint REFERENCES obsportal.observations (obs_id),
    obs_type                text CHECK (obs_type IN ('science', 'calibrator')),
    obs_program             text REFERENCES obsportal.programs (program_id),
    obs_program_pi_coi      text,
    dpr_catg                text,
    dpr_type                text,
    dpr_tech                text,
    setup_id                integer REFERENCES obsportal.instrument_setups (setup_id),
    interferometer_name     text,
    interferometer_stations text,
    instrument_name         text,
    instrument_mode         text,
    instrument_submode      text,
    target_id               integer REFERENCES obsportal.targets (target_id) ON DELETE SET NULL,
    target_name             text,
    target_ra               double precision,
    target_dec              double precision
);
CREATE INDEX exposures_position ON obsportal.exposures USING gist (spoint(radians(target_ra), radians(target_dec)));
CREATE INDEX exposures_mjd ON obsportal.exposures (exp_mjd_start);
CREATE INDEX exposures_target ON obsportal.exposures (target_id);
CREATE INDEX exposures_updated ON obsportal.exposures (exp_date_updated);

-- Projected baselines per station pair (ESO ISS PBLij/PBLAij, or computed from stations).
CREATE TABLE obsportal.baselines (
    exp_id       text NOT NULL REFERENCES obsportal.exposures (exp_id) ON DELETE CASCADE,
    station1     text NOT NULL,
    station2     text NOT NULL,
    length_start double precision,
    length_end   double precision,
    angle_start  double precision,
    angle_end    double precision,
    source       text NOT NULL CHECK (source IN ('header', 'computed')),
    PRIMARY KEY (exp_id, station1, station2)
);
