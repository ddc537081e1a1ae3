//! Historical episodes the default scorecard is checked against.
//!
//! | episode | capex growth % | revenue growth % | utilisation % | capex / revenue | unit price % | debt / EBITDA | expected |
//! |---|---:|---:|---:|---:|---:|---:|---|
//! | US telecom and fibre build-out, 2000 | 30 | 8 | 5 | 0.50 | −60 | 6.0 | SEVERE (the 2001–02 bust) |
//! | China AI data-centre build-out, 2024–25 | 202 | 13 | 30 | 0.52 | −22 | – | high |
//! | US hyperscalers, 2025 | 66 | 26.8 | 98.4 | 0.99 | −22 | – | between |
//! | Alphabet, 2019 (a calm year) | −6.3 | 18.3 | – | 0.145 | – | 0.1 | LOW |
//!
//! Sources (ids refer to `data/SOURCES.md`):
//! - Telecom 2000: approximate values as widely reported after the bust, not
//!   in `data/`; treat them as illustrative orders of magnitude:
//!   carrier capex rising 20–30% a year against high-single-digit revenue
//!   growth and capex near half of revenue (Couper, Hejkal & Wolman, "Boom and
//!   Bust in Telecommunications", Federal Reserve Bank of Richmond Economic
//!   Quarterly 89/4, 2003); only a few percent of long-haul fibre lit by 2002;
//!   wholesale bandwidth prices falling by more than half a year; leverage
//!   above 5× EBITDA at the carriers that defaulted.
//! - China 2024–25: Alibaba capex RMB72.5bn in 2024 vs RMB24bn in 2023, +202%
//!   (FT_BABA_CAPEX); China cloud infrastructure spending +13% in 2024
//!   (CN_CAN_2025F); ~30% of intelligent computing capacity in use
//!   (STDAILY_INSPUR); Alibaba + Tencent capex / China cloud spend 0.52
//!   (derived in `indicators.csv`); H100 rental prices −22% in 2025 to date
//!   (FT_RBC_GPU).
//! - US hyperscalers 2025: big-4 capex +66% (PLAT_2025RETRO); cloud
//!   infrastructure market +26.8% (GL_SRG_2025, derived); primary-market
//!   data-centre vacancy 1.6%, so ~98.4% in use (CBRE_H1_2025); big-4 capex /
//!   cloud market 0.99 (derived in `indicators.csv`); H100 rental −22%
//!   (FT_RBC_GPU).
//! - Alphabet 2019: capex US$23.548bn vs US$25.139bn in 2018, −6.3%
//!   (GOOG_10K_2019); revenue US$161.9bn vs US$136.8bn, +18.3%, and total debt
//!   of about US$4bn against EBITDA near US$50bn (Alphabet 10-K for 2019, not
//!   in `data/`); capex / revenue 0.145.

/// One historical episode: its name and indicator values.
#[derive(Debug, Clone, Copy)]
pub struct Episode {
    /// What and when.
    pub name: &'static str,
    /// Indicator values (normative names).
    pub indicators: &'static [(&'static str, f64)],
}

/// The episodes of the table above.
pub const EPISODES: [Episode; 4] = [
    Episode {
        name: "US telecom and fibre build-out, 2000",
        indicators: &[
            ("capex_growth_pct", 30.0),
            ("revenue_growth_pct", 8.0),
            ("utilization_pct", 5.0),
            ("capex_to_revenue", 0.50),
            ("unit_price_change_pct", -60.0),
            ("debt_to_ebitda", 6.0),
        ],
    },
    Episode {
        name: "China AI data-centre build-out, 2024-25",
        indicators: &[
            ("capex_growth_pct", 202.0),
            ("revenue_growth_pct", 13.0),
            ("utilization_pct", 30.0),
            ("capex_to_revenue", 0.52),
            ("unit_price_change_pct", -22.0),
        ],
    },
    Episode {
        name: "US hyperscalers, 2025",
        indicators: &[
            ("capex_growth_pct", 66.0),
            ("revenue_growth_pct", 26.8),
            ("utilization_pct", 98.4),
            ("capex_to_revenue", 0.99),
            ("unit_price_change_pct", -22.0),
        ],
    },
    Episode {
        name: "Alphabet, 2019 (calm year)",
        indicators: &[
            ("capex_growth_pct", -6.3),
            ("revenue_growth_pct", 18.3),
            ("capex_to_revenue", 0.145),
            ("debt_to_ebitda", 0.1),
        ],
    },
];
