//! FLV audio tags (video file format spec v10.1 §E.4.2.1): AAC is taken and
//! transcoded; other formats are refused by name.

const FORMAT_AAC: u8 = 10;

/// What one audio tag holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioTag<'a> {
    /// The AudioSpecificConfig that comes before the first AAC frame.
    AacConfig(&'a [u8]),
    /// One raw AAC access unit.
    AacFrame(&'a [u8]),
}

/// Why an audio tag was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioTagError {
    /// The tag is shorter than its header.
    Truncated,
    /// Another sound format than AAC (FLV's number and name): set the
    /// encoder's audio to AAC.
    Format(u8, &'static str),
}

impl std::fmt::Display for AudioTagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated => write!(f, "audio tag shorter than its header"),
            Self::Format(n, name) => {
                write!(f, "audio format {name} ({n}); only AAC is taken")
            }
        }
    }
}

impl std::error::Error for AudioTagError {}

fn format_name(n: u8) -> &'static str {
    match n {
        0 | 3 => "linear PCM",
        1 => "ADPCM",
        2 | 14 => "MP3",
        4..=6 => "Nellymoser",
        7 => "G.711 A-law",
        8 => "G.711 mu-law",
        9 => "Enhanced RTMP audio",
        11 => "Speex",
        _ => "unknown",
    }
}

pub fn parse_audio(tag: &[u8]) -> Result<AudioTag<'_>, AudioTagError> {
    let first = *tag.first().ok_or(AudioTagError::Truncated)?;
    let format = first >> 4;
    if format != FORMAT_AAC {
        return Err(AudioTagError::Format(format, format_name(format)));
    }
    let kind = *tag.get(1).ok_or(AudioTagError::Truncated)?;
    let body = &tag[2..];
    Ok(if kind == 0 {
        AudioTag::AacConfig(body)
    } else {
        AudioTag::AacFrame(body)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aac_config_and_frames_and_refusals() {
        assert_eq!(
            parse_audio(&[0xaf, 0, 0x12, 0x10]),
            Ok(AudioTag::AacConfig(&[0x12, 0x10]))
        );
        assert_eq!(parse_audio(&[0xaf, 1, 9]), Ok(AudioTag::AacFrame(&[9])));
        assert_eq!(parse_audio(&[0xaf]), Err(AudioTagError::Truncated));
        assert_eq!(parse_audio(&[]), Err(AudioTagError::Truncated));
        assert_eq!(
            parse_audio(&[0x2f, 0]),
            Err(AudioTagError::Format(2, "MP3"))
        );
    }
}
